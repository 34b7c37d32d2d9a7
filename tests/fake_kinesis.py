"""In-memory stand-ins for Kinesis used by the unit tests of the source's client layer: no Spark, no HTTP."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from aws_kinesis_agg.aggregator import RecordAggregator
from botocore.exceptions import ClientError

from jobs.kinesis.fan_out import Subscription, starting_position
from jobs.kinesis.faults import client_error
from jobs.kinesis.positions import Position

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

    def list_shards(self, **_kwargs: Any) -> dict:
        return {"Shards": [{"ShardId": "shardId-0"}]}

    def describe_stream_summary(self, **_kwargs: Any) -> dict:
        return {"StreamDescriptionSummary": {"StreamCreationTimestamp": ARRIVAL, "RetentionPeriodHours": 24}}

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


def throttled(code: str = "ProvisionedThroughputExceededException", status: int = 400) -> ClientError:
    return client_error(code, "slow down", status, "GetRecords")


def data_of(records: list[Any]) -> list[bytes]:
    return [r.data for r in records]


def event_frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message (prelude, string headers, payload, CRCs) as AWS and kinesis-local send it."""
    encoded = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value)) + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def initial_response_frame() -> bytes:
    return event_frame({":message-type": "event", ":event-type": "initial-response"}, b"{}")


def exception_frame(code: str, message: str) -> bytes:
    return event_frame(
        {":message-type": "exception", ":exception-type": code, ":content-type": "application/json"},
        json.dumps({"message": message}).encode(),
    )


def subscribe_event_frame(
    records: list[dict[str, Any]],
    millis_behind: int,
    continuation: str | None,
    child_shards: list[str] | None = None,
) -> bytes:
    """A ``SubscribeToShardEvent`` of ``records`` (FakeShard's dicts), encoded as Kinesis' JSON encodes them."""
    event: dict[str, Any] = {
        "Records": [
            {
                "Data": base64.b64encode(r["Data"]).decode(),
                "PartitionKey": r["PartitionKey"],
                "SequenceNumber": r["SequenceNumber"],
                "ApproximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp(),
            }
            for r in records
        ],
        "MillisBehindLatest": millis_behind,
    }
    if continuation is not None:
        event["ContinuationSequenceNumber"] = continuation
    if child_shards is not None:
        event["ChildShards"] = [{"ShardId": s, "ParentShards": ["shardId-0"], "HashKeyRange": {}} for s in child_shards]
    headers = {":message-type": "event", ":event-type": "SubscribeToShardEvent", ":content-type": "application/json"}
    return event_frame(headers, json.dumps(event).encode())


class FakeEventStream:
    """A response body of frames, delivered in ``chunk``-byte pieces (frames split across reads), as urllib3's ``stream()``."""

    def __init__(self, frames: list[bytes], chunk: int = 7, cut: Exception | None = None) -> None:
        self.body = b"".join(frames)
        self.chunk = chunk
        self.cut = cut  # raised once the body is exhausted (a connection cut mid-stream)
        self.closed = False

    def stream(self, amt: int = 65536) -> Iterator[bytes]:
        for begin in range(0, len(self.body), self.chunk):
            yield self.body[begin : begin + self.chunk]
        if self.cut is not None:
            raise self.cut

    def close(self) -> None:
        self.closed = True


class FakeSubscriber:
    """``ShardSubscriber`` over a ``FakeShard``: each subscription sends the records after its start,
    ``per_event`` at a time, then (open shard) one caught-up event, or (closed shard) the last
    event with ``ChildShards`` and no continuation.

    ``refusals`` are exception frames sent instead of events by the next subscriptions, one each;
    ``events_per_subscription`` ends a subscription after that many events (as Kinesis does after
    5 minutes); ``cut`` is raised by the next subscription after its events.
    """

    consumer_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1"

    def __init__(self, shard: FakeShard, per_event: int = 3, initial_response: bool = False) -> None:
        self.shard = shard
        self.per_event = per_event
        self.initial_response = initial_response
        self.refusals: list[bytes] = []
        self.events_per_subscription: int | None = None
        self.cuts: list[Exception] = []
        self.stall_with: Exception | None = None  # every subscription: one empty event behind the tip, then this
        self.http_refusals: list[Exception] = []  # raised by the next subscribe calls (refused before any event)
        self.starts: list[dict[str, Any]] = []
        self.streams: list[FakeEventStream] = []

    def subscribe(self, _shard_id: str, position: Position) -> Subscription:
        start = starting_position(position)
        self.starts.append(start)
        assert len(self.starts) <= 500, "subscribed 500 times: the reader keeps reopening without giving up"
        if self.http_refusals:
            raise self.http_refusals.pop(0)
        frames = [initial_response_frame()] if self.initial_response else []
        if self.stall_with is not None:
            frames.append(subscribe_event_frame([], 1000, "0"))
            stream = FakeEventStream(frames, cut=self.stall_with)
            self.streams.append(stream)
            return Subscription(stream)
        if self.refusals:
            frames.append(self.refusals.pop(0))
        else:
            index = self._index(start)
            records = self.shard.records
            while index < len(records):
                chunk = records[index : index + self.per_event]
                index += len(chunk)
                at_end = index >= len(records)
                last = chunk[-1]["SequenceNumber"]
                if at_end and self.shard.closed:
                    frames.append(subscribe_event_frame(chunk, 0, None, ["shardId-1", "shardId-2"]))
                else:
                    frames.append(subscribe_event_frame(chunk, 0 if at_end else 1000, last))
            if not self.shard.closed:
                frames.append(subscribe_event_frame([], 0, records[-1]["SequenceNumber"] if records else None))
            if self.events_per_subscription is not None:
                frames = frames[: self.events_per_subscription + (1 if self.initial_response else 0)]
        stream = FakeEventStream(frames, cut=self.cuts.pop(0) if self.cuts else None)
        self.streams.append(stream)
        return Subscription(stream)

    def _index(self, start: dict[str, Any]) -> int:
        kind = start["Type"]
        if kind == "TRIM_HORIZON":
            return 0
        if kind == "LATEST":
            return len(self.shard.records)
        index = self.shard._index_of(start["SequenceNumber"])
        return index + 1 if kind == "AFTER_SEQUENCE_NUMBER" else index
