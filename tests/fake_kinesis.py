"""In-memory stand-ins for Kinesis used by the unit tests of the source's client layer: no Spark, no HTTP."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aws_kinesis_agg.aggregator import RecordAggregator
from botocore.exceptions import ClientError

from jobs.kinesis.faults import client_error

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
