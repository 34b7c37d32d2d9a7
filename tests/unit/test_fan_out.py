"""Enhanced fan-out without a network: event-stream frames parsed, subscriptions read to limits, reopened, ended."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError, HTTPClientError
from fake_kinesis import (
    FakeClock,
    FakeEventStream,
    FakeShard,
    FakeSubscriber,
    data_of,
    exception_frame,
    initial_response_frame,
    subscribe_event_frame,
)

from jobs.kinesis.client import KinesisClient, KinesisSourceError
from jobs.kinesis.fan_out import http_error, parse_events, starting_position
from jobs.kinesis.positions import TRIM_HORIZON, position_after
from jobs.kinesis.shard_reader import ReadLimits, ShardReader

pytestmark = pytest.mark.unit


def filled(count: int, closed: bool = False) -> FakeShard:
    shard = FakeShard(closed=closed)
    for n in range(count):
        shard.put(b"r%d" % n)
    return shard


def reader(
    subscriber: FakeSubscriber, max_records: int = 100, max_bytes: int | None = None, fetch_seconds: float = 5.0
) -> tuple[ShardReader, KinesisClient, FakeClock]:
    clock = FakeClock()
    client = KinesisClient(subscriber.shard, "stream", 30.0, sleep=clock.sleep, clock=clock, rng=random.Random(1))
    limits = ReadLimits(max_records=max_records, max_fetch_seconds=fetch_seconds, max_bytes=max_bytes)
    return ShardReader(client, "shardId-0", limits, subscriber), client, clock  # type: ignore[arg-type]


@pytest.mark.parametrize("initial_response", [True, False], ids=["aws-initial-response", "kinesis-local-none"])
def test_events_parse_with_or_without_an_initial_response(initial_response: bool) -> None:
    shard = filled(2)
    frames = [initial_response_frame()] if initial_response else []
    frames += [subscribe_event_frame(shard.records, 0, "2"), subscribe_event_frame([], 0, "2")]
    events = list(parse_events(FakeEventStream(frames, chunk=5)))
    assert len(events) == 2, "the initial-response event yields nothing"
    first = events[0]
    assert [r["Data"] for r in first["Records"]] == [b"r0", b"r1"], "Data decoded from base64"
    assert first["Records"][0]["ApproximateArrivalTimestamp"] == shard.records[0]["ApproximateArrivalTimestamp"]
    assert first["ContinuationSequenceNumber"] == "2" and first["MillisBehindLatest"] == 0


def test_an_exception_event_raises_a_client_error_with_its_code() -> None:
    frames = [exception_frame("ResourceInUseException", "Another active subscription exists")]
    with pytest.raises(ClientError) as raised:
        list(parse_events(FakeEventStream(frames)))
    assert raised.value.response["Error"]["Code"] == "ResourceInUseException"


def test_a_refused_request_becomes_a_client_error_with_the_aws_code() -> None:
    error = http_error(400, b'{"__type": "com.amazonaws#LimitExceededException", "message": "Rate exceeded"}')
    assert isinstance(error, ClientError) and error.response["Error"]["Code"] == "LimitExceededException"
    assert http_error(502, b"<html>bad gateway</html>").response["Error"]["Code"] == "HTTP502"  # type: ignore[attr-defined]


def test_starting_positions_match_the_shard_iterator_ones() -> None:
    assert starting_position(TRIM_HORIZON) == {"Type": "TRIM_HORIZON"}
    assert starting_position(position_after("7")) == {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": "7"}
    inside_aggregate = {"type": "AFTER_SEQUENCE_NUMBER", "seq": "7", "sub": 2}
    assert starting_position(inside_aggregate) == {"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": "7"}
    assert starting_position({"type": "AT_TIMESTAMP", "ts": 1700000000.5}) == {
        "Type": "AT_TIMESTAMP",
        "Timestamp": 1700000000.5,
    }


@pytest.mark.parametrize("initial_response", [True, False])
def test_reads_events_up_to_the_record_limit_then_resumes_after_it(initial_response: bool) -> None:
    subscriber = FakeSubscriber(filled(10), per_event=3, initial_response=initial_response)
    records, end = reader(subscriber, max_records=4)[0].read(TRIM_HORIZON, None)
    assert data_of(records) == [b"r0", b"r1", b"r2", b"r3"], "the event that reaches the limit is cut at it"
    assert end.position == position_after("4") and end.subscribe_calls == 1 and end.get_records_calls == 0
    assert subscriber.streams[-1].closed, "the subscription's connection is closed after the read"
    rest, end = reader(subscriber)[0].read(end.position, None)
    assert data_of(rest) == [b"r%d" % n for n in range(4, 10)] and end.millis_behind_latest == 0
    assert subscriber.starts[-1] == {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": "4"}


def test_the_byte_limit_stops_at_the_record_that_reaches_it() -> None:
    subscriber = FakeSubscriber(filled(10), per_event=10)
    records, end = reader(subscriber, max_bytes=7)[0].read(TRIM_HORIZON, None)
    assert data_of(records) == [b"r0", b"r1", b"r2"] and end.bytes == 9, "3 bytes a record; soft: the third is read"


def test_a_caught_up_event_ends_the_read() -> None:
    subscriber = FakeSubscriber(filled(5), per_event=2)
    records, end = reader(subscriber)[0].read(TRIM_HORIZON, None)
    assert len(records) == 5 and end.millis_behind_latest == 0 and not end.closed
    empty, end = reader(subscriber)[0].read(end.position, None)
    assert empty == [] and end.records == 0 and end.position == position_after("5")


def test_the_fetch_time_ends_a_read_that_stays_behind() -> None:
    subscriber = FakeSubscriber(filled(30), per_event=2)
    read, _client, clock = reader(subscriber, fetch_seconds=0.0)
    records, end = read.read(TRIM_HORIZON, None)
    assert data_of(records) == [b"r0", b"r1"], "past max_fetch_seconds after the first event"
    assert end.millis_behind_latest == 1000 and clock.now == 0.0


def test_a_closed_shard_ends_with_child_shards_and_no_continuation() -> None:
    subscriber = FakeSubscriber(filled(4, closed=True), per_event=3)
    records, end = reader(subscriber)[0].read(TRIM_HORIZON, None)
    assert len(records) == 4 and end.closed, "finished: the planner may read its children"
    partial, end = reader(subscriber, max_records=2)[0].read(TRIM_HORIZON, None)
    assert len(partial) == 2 and not end.closed, "records of the last event left unread: not finished"


def test_an_ended_subscription_is_reopened_where_reading_stands() -> None:
    subscriber = FakeSubscriber(filled(9), per_event=2)
    subscriber.events_per_subscription = 2  # Kinesis ends every subscription after 5 minutes
    read = reader(subscriber)[0]
    records, end = read.read(TRIM_HORIZON, None)
    assert data_of(records) == [b"r%d" % n for n in range(9)], "nothing lost or repeated across subscriptions"
    assert [s.get("SequenceNumber") for s in subscriber.starts] == [None, "4", "8"]
    assert end.subscribe_calls == 3 and end.renewals == 2


def test_a_subscription_cut_mid_stream_is_reopened_without_loss() -> None:
    subscriber = FakeSubscriber(filled(6), per_event=2)
    subscriber.events_per_subscription = 1
    subscriber.cuts = [HTTPClientError(error=OSError("connection reset"))]
    records, end = reader(subscriber)[0].read(TRIM_HORIZON, None)
    assert data_of(records) == [b"r%d" % n for n in range(6)] and end.renewals >= 1


def test_subscriptions_cut_again_and_again_back_off_and_end_the_read_at_its_fetch_time() -> None:
    subscriber = FakeSubscriber(filled(3))
    subscriber.stall_with = HTTPClientError(error=OSError("connection reset"))
    read, _client, clock = reader(subscriber)
    records, end = read.read(TRIM_HORIZON, None)
    assert records == [] and end.position == TRIM_HORIZON and end.millis_behind_latest == 1000
    assert clock.now >= 5.0 and len(clock.sleeps) == end.renewals >= 2, "a backoff before each reopening"


def test_a_refused_subscription_is_retried_with_backoff() -> None:
    subscriber = FakeSubscriber(filled(3))
    subscriber.refusals = [
        exception_frame("ResourceInUseException", "Another active subscription exists"),
        exception_frame("InternalFailureException", "try again"),
    ]
    read, _client, clock = reader(subscriber)
    records, end = read.read(TRIM_HORIZON, None)
    assert len(records) == 3 and end.retries == 2 and end.subscribe_calls == 3
    assert len(clock.sleeps) == 2 and all(s.closed for s in subscriber.streams)


def test_a_missing_consumer_fails_the_read_saying_what_to_do() -> None:
    subscriber = FakeSubscriber(filled(3))
    subscriber.refusals = [exception_frame("ResourceNotFoundException", "Consumer not found")]
    with pytest.raises(KinesisSourceError, match="does not exist"):
        reader(subscriber)[0].read(TRIM_HORIZON, None)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (
            404,
            b'{"__type": "ApiNotImplemented", "message": "SubscribeToShard is not yet supported"}',
        ),  # kinesis-local 0.5
        (500, b"<!doctype html><title>500 Internal Server Error</title>"),  # moto
    ],
    ids=["kinesis-local-0.5", "moto"],
)
def test_an_endpoint_without_subscribe_to_shard_fails_the_read_saying_to_unset_the_consumer(
    status: int, body: bytes
) -> None:
    subscriber = FakeSubscriber(filled(3))
    subscriber.http_refusals = [http_error(status, body) for _ in range(400)]
    with pytest.raises(KinesisSourceError, match="unset KINESIS_CONSUMER_NAME"):
        reader(subscriber)[0].read(TRIM_HORIZON, None)


def test_a_replay_polls_exactly_the_recorded_records() -> None:
    subscriber = FakeSubscriber(filled(10), per_event=10)
    first, end = reader(subscriber, max_records=6)[0].read(TRIM_HORIZON, None)
    replayed, _ = reader(subscriber, max_records=2)[0].read(TRIM_HORIZON, end)
    assert data_of(replayed) == data_of(first) and subscriber.shard.calls["get_records"] >= 1
    assert len(subscriber.starts) == 1, "a replay opens no subscription"
