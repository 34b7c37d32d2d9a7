"""ShardReader against an in-memory fake shard: limits, retries, renewed iterators, aggregates, replays."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fake_kinesis import FakeClock, FakeShard, aggregate, data_of, throttled

from jobs.kinesis.client import KinesisClient, KinesisSourceError
from jobs.kinesis.faults import client_error
from jobs.kinesis.positions import TRIM_HORIZON, ShardEnd, position_after
from jobs.kinesis.shard_reader import ReadLimits, ShardReader

pytestmark = pytest.mark.unit


def reader(
    shard: FakeShard, max_records: int = 100, deadline: float = 30.0, max_bytes: int | None = None
) -> tuple[ShardReader, FakeClock]:
    clock = FakeClock()
    client = KinesisClient(shard, "stream", deadline, sleep=clock.sleep, clock=clock, rng=random.Random(1))
    limits = ReadLimits(max_records=max_records, max_fetch_seconds=5.0, max_bytes=max_bytes)
    return ShardReader(client, "shardId-0", limits), clock


def test_reads_up_to_the_limit_and_resumes_after_it() -> None:
    shard = FakeShard()
    for n in range(10):
        shard.put(b"r%d" % n)
    records, end = reader(shard, max_records=4)[0].read(TRIM_HORIZON, None)
    assert data_of(records) == [b"r0", b"r1", b"r2", b"r3"]
    assert end == ShardEnd(
        position_after("4"), 4, False, 1000, bytes=4 * 3, get_records_calls=1, read_through_ms=1704067200000
    ), "bytes: 2 of data and 1 of partition key per record"
    rest, end = reader(shard)[0].read(end.position, None)
    assert data_of(rest) == [b"r%d" % n for n in range(4, 10)] and end.millis_behind_latest == 0


def test_throttled_reads_are_retried_and_counted() -> None:
    shard = FakeShard()
    for n in range(5):
        shard.put(b"r%d" % n)
    shard.failures["get_records"] = [throttled(), throttled("InternalFailure", 500)]
    shard.failures["get_shard_iterator"] = [throttled("LimitExceededException")]
    records, end = reader(shard)[0].read(TRIM_HORIZON, None)
    assert len(records) == 5 and end.retries == 3
    assert end.get_records_calls == shard.calls["get_records"] == 3, "throttled calls count against the quota"


def test_a_permanently_failing_shard_gives_up_after_the_deadline() -> None:
    shard = FakeShard()
    shard.put(b"r")
    shard.failures["get_records"] = [throttled("InternalFailure", 500)] * 10_000
    shard_reader, clock = reader(shard, deadline=5)
    with pytest.raises(KinesisSourceError, match=r"still failing .*retryDeadlineSeconds=5\)"):
        shard_reader.read(TRIM_HORIZON, None)
    assert clock.now <= 5 + 0.2 + 1e-6


def test_an_expired_iterator_is_renewed_after_the_last_record_read() -> None:
    shard = FakeShard()
    for n in range(6):
        shard.put(b"r%d" % n)
    expired = client_error("ExpiredIteratorException", "expired", 400, "GetRecords")
    shard_reader, _ = reader(shard, max_records=6)
    original = shard.get_records
    calls = {"n": 0}

    def get_records(**kwargs: Any) -> dict:
        calls["n"] += 1
        if calls["n"] == 2:
            raise expired
        return original(**{**kwargs, "Limit": min(kwargs["Limit"], 2)})  # small pages: several calls

    shard.get_records = get_records  # type: ignore[method-assign]
    records, end = shard_reader.read(TRIM_HORIZON, None)
    assert data_of(records) == [b"r%d" % n for n in range(6)], "nothing lost or repeated"
    assert shard.iterator_requests == [
        {"type": "TRIM_HORIZON", "seq": None},
        {"type": "AFTER_SEQUENCE_NUMBER", "seq": "2"},
    ]
    assert end.renewals == 1


def test_an_iterator_renewed_inside_an_aggregate_skips_the_sub_records_already_read() -> None:
    shard = FakeShard()
    shard.put(b"before")
    key, blob = aggregate([(f"pk-{i}", b"u%d" % i) for i in range(5)])
    shard.put(blob, key)
    shard.put(b"after")
    # First call stops inside the aggregate (limit 3 user records), then the iterator expires.
    first_records, first_end = reader(shard, max_records=3)[0].read(TRIM_HORIZON, None)
    assert data_of(first_records) == [b"before", b"u0", b"u1"]
    assert first_end.position == position_after("2", 1)
    shard.failures["get_records"] = [client_error("ExpiredIteratorException", "expired", 400, "GetRecords")]
    records, end = reader(shard)[0].read(first_end.position, None)
    assert data_of(records) == [b"u2", b"u3", b"u4", b"after"]
    assert [r.sub_sequence_number for r in records] == [2, 3, 4, None]
    assert [r.partition_key for r in records[:3]] == ["pk-2", "pk-3", "pk-4"]
    assert shard.iterator_requests[-2:] == [{"type": "AT_SEQUENCE_NUMBER", "seq": "2"}] * 2
    assert end.renewals == 1


def test_replay_stops_exactly_at_the_recorded_end_inside_an_aggregate() -> None:
    shard = FakeShard()
    key, blob = aggregate([("pk", b"u%d" % i) for i in range(6)])
    shard.put(blob, key)
    records, end = reader(shard, max_records=4)[0].read(TRIM_HORIZON, None)
    assert data_of(records) == [b"u0", b"u1", b"u2", b"u3"] and end.position == position_after("1", 3)
    shard.put(b"later")  # more data after the batch: a replay must not return it
    replayed, replay_end = reader(shard, max_records=1000)[0].read(TRIM_HORIZON, end)
    assert replayed == records and replay_end == end
    rest, _ = reader(shard)[0].read(end.position, None)
    assert data_of(rest) == [b"u4", b"u5", b"later"]


def test_replay_that_cannot_reach_the_recorded_end_says_so() -> None:
    shard = FakeShard()
    shard.put(b"only")
    recorded = ShardEnd(position_after("5"), 5, False, 0)
    with pytest.raises(KinesisSourceError, match="position log says 5"):
        reader(shard)[0].read(TRIM_HORIZON, recorded)


def test_a_closed_shard_is_finished_only_when_fully_read() -> None:
    shard = FakeShard(closed=True)
    shard.put(b"r0")
    key, blob = aggregate([("pk", b"u%d" % i) for i in range(4)])
    shard.put(blob, key)
    records, end = reader(shard, max_records=3)[0].read(TRIM_HORIZON, None)
    assert len(records) == 3 and not end.closed, "stopped inside the last aggregate: not finished"
    records, end = reader(shard, max_records=3)[0].read(end.position, None)
    assert data_of(records) == [b"u2", b"u3"] and end.closed


def test_a_byte_limit_stops_at_the_record_that_reaches_it_and_the_next_read_resumes_after_it() -> None:
    shard = FakeShard()
    for n in range(10):
        shard.put(b"%09d" % n, "key")  # 9 bytes of data + 3 of partition key
    records, end = reader(shard, max_bytes=30)[0].read(TRIM_HORIZON, None)
    assert data_of(records) == [b"%09d" % n for n in range(3)], "12 + 12 < 30 <= 36: the third record reaches it"
    assert end.bytes == 36 and end.records == 3 and end.position == position_after("3")
    rest, rest_end = reader(shard, max_bytes=10**6)[0].read(end.position, None)
    assert data_of(rest) == [b"%09d" % n for n in range(3, 10)] and rest_end.bytes == 7 * 12


def test_a_record_larger_than_the_byte_limit_is_still_read_alone() -> None:
    shard = FakeShard()
    shard.put(b"x" * 1000)
    shard.put(b"y")
    records, end = reader(shard, max_bytes=10)[0].read(TRIM_HORIZON, None)
    assert data_of(records) == [b"x" * 1000] and end.bytes == 1001, "progress, whatever the record's size"


def test_a_byte_limit_splits_an_aggregate_exactly_and_a_replay_ignores_it() -> None:
    shard = FakeShard()
    key, blob = aggregate([("pk", b"u%d" % i) for i in range(6)])  # 2 + 2 bytes per user record
    shard.put(blob, key)
    records, end = reader(shard, max_bytes=10)[0].read(TRIM_HORIZON, None)
    assert data_of(records) == [b"u0", b"u1", b"u2"] and end.position == position_after("1", 2)
    replayed, _ = reader(shard, max_bytes=1)[0].read(TRIM_HORIZON, end)
    assert replayed == records, "a replay returns the recorded records, not what today's limit allows"
