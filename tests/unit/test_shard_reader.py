"""ShardReader, call_with_retries and fault injection against an in-memory fake shard (no Spark, no HTTP)."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from botocore.exceptions import ClientError, EndpointConnectionError

from common.aws import client as aws_client
from common.settings import AwsSettings, SettingError
from jobs.kinesis.faults import FaultSpec, FaultyKinesisClient, client_error
from jobs.kinesis.positions import TRIM_HORIZON, ShardEnd, position_after
from jobs.kinesis.shard_reader import (
    BASE_BACKOFF_SECONDS,
    KinesisSourceError,
    ReadLimits,
    ShardReader,
    call_with_retries,
)

pytestmark = pytest.mark.unit
ARRIVAL = datetime(2024, 1, 1, tzinfo=timezone.utc)


def aggregate(keys_and_data: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    aggregator = RecordAggregator()
    for key, data in keys_and_data:
        aggregator.add_user_record(key, data)
    key, _hash, data = aggregator.clear_and_get().get_contents()
    return key, data


class FakeClock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeShard:
    """One shard: records with increasing (short, moto-like) sequence numbers; scripted failures.

    ``failures`` maps a call name to exceptions raised, one per call, before the real answer.
    """

    def __init__(self, closed: bool = False) -> None:
        self.records: list[dict[str, Any]] = []
        self.closed = closed
        self.failures: dict[str, list[Exception]] = {"get_records": [], "get_shard_iterator": []}
        self.iterator_requests: list[dict[str, Any]] = []
        self.calls = {"get_records": 0, "get_shard_iterator": 0}

    def put(self, data: bytes, key: str = "k") -> str:
        sequence = str(len(self.records) + 1)
        self.records.append(
            {"Data": data, "PartitionKey": key, "SequenceNumber": sequence, "ApproximateArrivalTimestamp": ARRIVAL}
        )
        return sequence

    def _index_of(self, sequence: str) -> int:
        return next(i for i, r in enumerate(self.records) if int(r["SequenceNumber"]) >= int(sequence))

    def _fail(self, call: str) -> None:
        self.calls[call] += 1
        if self.failures[call]:
            raise self.failures[call].pop(0)

    def get_shard_iterator(
        self,
        *,
        StreamName: str,
        ShardId: str,
        ShardIteratorType: str,
        StartingSequenceNumber: str | None = None,
        Timestamp: float | None = None,
    ) -> dict:
        self._fail("get_shard_iterator")
        self.iterator_requests.append({"type": ShardIteratorType, "seq": StartingSequenceNumber})
        if ShardIteratorType == "TRIM_HORIZON":
            index = 0
        elif ShardIteratorType == "AT_SEQUENCE_NUMBER":
            index = self._index_of(StartingSequenceNumber or "0")
        elif ShardIteratorType == "AFTER_SEQUENCE_NUMBER":
            index = self._index_of(StartingSequenceNumber or "0") + 1
        else:
            index = len(self.records)
        return {"ShardIterator": str(index)}

    def get_records(self, *, ShardIterator: str, Limit: int) -> dict:
        self._fail("get_records")
        index = int(ShardIterator)
        batch = self.records[index : index + Limit]
        after = index + len(batch)
        at_end = after >= len(self.records)
        response: dict[str, Any] = {"Records": batch, "MillisBehindLatest": 0 if at_end else 1000}
        if not (self.closed and at_end):
            response["NextShardIterator"] = str(after)
        return response


def reader(shard: FakeShard, max_records: int = 100, deadline: float = 30.0) -> tuple[ShardReader, FakeClock]:
    clock = FakeClock()
    limits = ReadLimits(max_records=max_records, max_fetch_seconds=5.0, retry_deadline_seconds=deadline)
    return ShardReader(
        shard, "stream", "shardId-0", limits, sleep=clock.sleep, clock=clock, rng=random.Random(1)
    ), clock


def throttled(code: str = "ProvisionedThroughputExceededException", status: int = 400) -> ClientError:
    return client_error(code, "slow down", status, "GetRecords")


def data_of(records: list[Any]) -> list[bytes]:
    return [r.data for r in records]


# --- call_with_retries ---------------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_bounded_full_jitter() -> None:
    clock = FakeClock()

    class Largest(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    def always_throttled() -> None:
        raise throttled()

    with pytest.raises(KinesisSourceError, match=r"retryDeadlineSeconds=30"):
        call_with_retries(
            always_throttled, what="GetRecords s", deadline_seconds=30, sleep=clock.sleep, rng=Largest(), clock=clock
        )
    upper = [min(10.0, BASE_BACKOFF_SECONDS * 2**n) for n in range(1, len(clock.sleeps) + 1)]
    assert clock.sleeps[:6] == pytest.approx(upper[:6]), "the ceiling doubles each attempt"
    assert max(clock.sleeps) <= 10.0, "and is capped"
    assert clock.now == pytest.approx(30.0), "the last sleep is cut at the deadline, never past it"

    jittered = FakeClock()
    with pytest.raises(KinesisSourceError):
        call_with_retries(
            always_throttled,
            what="GetRecords s",
            deadline_seconds=60,
            sleep=jittered.sleep,
            rng=random.Random(3),
            clock=jittered,
        )
    for attempt, slept in enumerate(jittered.sleeps[:-1], start=1):
        assert 0 <= slept <= min(10.0, BASE_BACKOFF_SECONDS * 2**attempt)
    assert len(set(jittered.sleeps)) > len(jittered.sleeps) // 2, "jitter spreads the waits"


@pytest.mark.parametrize(
    "failure",
    [
        throttled("ProvisionedThroughputExceededException"),
        throttled("LimitExceededException"),
        throttled("InternalFailure", 500),
        throttled("SomethingNew", 503),
        EndpointConnectionError(endpoint_url="http://nowhere.invalid"),
    ],
)
def test_transient_failures_are_retried_until_success(failure: Exception) -> None:
    clock = FakeClock()
    outcomes: list[Any] = [failure, failure, "ok"]
    retried: list[Exception] = []

    def call() -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert (
        call_with_retries(call, what="x", deadline_seconds=10, sleep=clock.sleep, clock=clock, on_retry=retried.append)
        == "ok"
    )
    assert len(retried) == 2 and len(clock.sleeps) == 2


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ResourceNotFoundException", "does not exist"),
        ("AccessDeniedException", "lack permission"),
    ],
)
def test_missing_stream_or_permission_fails_at_once_with_what_to_do(code: str, message: str) -> None:
    clock = FakeClock()

    def call() -> None:
        raise throttled(code)

    with pytest.raises(KinesisSourceError, match=message):
        call_with_retries(call, what="GetRecords s", deadline_seconds=10, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []


def test_other_client_errors_are_not_retried() -> None:
    clock = FakeClock()

    def call() -> None:
        raise throttled("ValidationException")

    with pytest.raises(ClientError, match="ValidationException"):
        call_with_retries(call, what="x", deadline_seconds=10, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []


# --- ShardReader -----------------------------------------------------------------------------------------------------


def test_reads_up_to_the_limit_and_resumes_after_it() -> None:
    shard = FakeShard()
    for n in range(10):
        shard.put(b"r%d" % n)
    records, end = reader(shard, max_records=4)[0].read(TRIM_HORIZON, None)
    assert data_of(records) == [b"r0", b"r1", b"r2", b"r3"]
    assert end == ShardEnd(position_after("4"), 4, False, 1000, get_records_calls=1, read_through_ms=1704067200000)
    rest, end = reader(shard)[0].read(end.end, None)
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
    assert first_end.end == position_after("2", 1)
    shard.failures["get_records"] = [client_error("ExpiredIteratorException", "expired", 400, "GetRecords")]
    records, end = reader(shard)[0].read(first_end.end, None)
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
    assert data_of(records) == [b"u0", b"u1", b"u2", b"u3"] and end.end == position_after("1", 3)
    shard.put(b"later")  # more data after the batch: a replay must not return it
    replayed, replay_end = reader(shard, max_records=1000)[0].read(TRIM_HORIZON, end)
    assert replayed == records and replay_end == end
    rest, _ = reader(shard)[0].read(end.end, None)
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
    records, end = reader(shard, max_records=3)[0].read(end.end, None)
    assert data_of(records) == [b"u2", b"u3"] and end.closed


# --- fault injection ---------------------------------------------------------------------------------------------------


def test_fault_spec_parses_and_rejects_nonsense() -> None:
    spec = FaultSpec.parse("throttle=0.3, server_error=0.1,expire_iterator=0.1,seed=7")
    assert spec.enabled and spec.seed == 7 and spec.rate("throttle") == 0.3 and spec.rate("access_denied") == 0
    assert not FaultSpec.parse("").enabled and not FaultSpec.parse(None).enabled
    for bad in ("throttle", "throttle=2", "lightning=0.1", "throttle=x"):
        with pytest.raises(SettingError, match="faultInjection"):
            FaultSpec.parse(bad)


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        ("server_error", "InternalFailure", 500),
        ("expire_iterator", "ExpiredIteratorException", 400),
        ("access_denied", "AccessDeniedException", 400),
    ],
)
def test_injected_faults_are_real_botocore_errors(kind: str, code: str, status: int) -> None:
    real = aws_client("kinesis", AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9"))
    faulty = FaultyKinesisClient(real, FaultSpec(((kind, 1.0),), seed=1))
    with pytest.raises(ClientError) as raised:
        faulty.get_records(ShardIterator="x", Limit=1)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    if kind == "expire_iterator":
        assert isinstance(raised.value, real.exceptions.ExpiredIteratorException)
    assert faulty.injected == {kind: 1}
    assert faulty.list_shards == real.list_shards, "calls other than reads are not wrapped"


def test_throttle_faults_are_both_throttling_codes_and_seeded() -> None:
    real = aws_client("kinesis", AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:9"))

    def codes(seed: int) -> list[str]:
        faulty = FaultyKinesisClient(real, FaultSpec((("throttle", 1.0),), seed=seed), salt="s")
        found = []
        for _ in range(20):
            with pytest.raises(ClientError) as raised:
                faulty.get_shard_iterator(StreamName="s", ShardId="x", ShardIteratorType="LATEST")
            found.append(raised.value.response["Error"]["Code"])
        return found

    assert set(codes(5)) == {"ProvisionedThroughputExceededException", "LimitExceededException"}
    assert codes(5) == codes(5), "a seed makes the faults reproducible"


def test_a_fake_shard_under_random_faults_still_reads_everything_once() -> None:
    shard = FakeShard()
    for n in range(50):
        shard.put(b"r%d" % n)
    faulty = FaultyKinesisClient(
        shard, FaultSpec((("expire_iterator", 0.2), ("server_error", 0.1), ("throttle", 0.3)), seed=7)
    )
    clock = FakeClock()
    got: list[bytes] = []
    position = TRIM_HORIZON
    while len(got) < 50:
        shard_reader = ShardReader(faulty, "stream", "s", ReadLimits(7, 5.0, 60.0), sleep=clock.sleep, clock=clock)
        records, end = shard_reader.read(position, None)
        got += data_of(records)
        position = end.end
    assert got == [b"r%d" % n for n in range(50)]
    assert sum(faulty.injected.values()) > 5
