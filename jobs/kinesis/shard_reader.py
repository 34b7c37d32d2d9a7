"""Reading one shard for one batch on an executor: GetRecords with limits, retries and replay.

``read_shard`` reads from a start position until a limit (records, fetch time, shard end,
caught up with the tip) and returns the records and where it stopped. Given the end a
previous attempt recorded, it instead stops exactly there, so a replayed batch returns the
same records. KPL aggregated records are split into their user records, each keeping the
sub-sequence number that makes a position inside an aggregate exact.
"""
from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from common.logs import log_event
from jobs.kinesis.positions import Position, ShardEnd, is_consumed, iterator_request, position_after, sequence_key

logger = logging.getLogger("jobs.kinesis")

_KPL_MAGIC = b"\xf3\x89\x9a\xc2"
_RETRYABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "ThrottlingException",
    "InternalFailure",
    "InternalFailureException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "KMSThrottlingException",
}
# Kinesis allows 5 GetRecords calls per second per shard.
_MIN_SECONDS_BETWEEN_CALLS = 0.2


class KinesisSourceError(RuntimeError):
    """A failure retrying cannot fix (stream deleted, permission missing); says what to do."""


class KinesisRecord(NamedTuple):
    data: bytes
    partition_key: str
    sequence_number: str
    sub_sequence_number: int | None
    arrival_time: datetime


@dataclass(frozen=True)
class ReadLimits:
    max_records: int
    max_fetch_seconds: float
    retry_deadline_seconds: float


def deaggregate(data: bytes, partition_key: str) -> list[tuple[str, bytes]] | None:
    """User records (partition key, data) of a KPL aggregated record, or None if ``data`` is not one."""
    if not data.startswith(_KPL_MAGIC) or len(data) <= len(_KPL_MAGIC) + 16:
        return None
    message, digest = data[len(_KPL_MAGIC):-16], data[-16:]
    if hashlib.md5(message).digest() != digest:
        return None
    from aws_kinesis_agg import messages_pb2

    aggregated = messages_pb2.AggregatedRecord()
    try:
        aggregated.ParseFromString(message)
    except Exception:  # noqa: BLE001 - not an aggregate after all: keep the bytes as one record
        return None
    keys = list(aggregated.partition_key_table)
    return [(keys[r.partition_key_index] if keys else partition_key, r.data) for r in aggregated.records]


def call_with_retries(
    call: Callable[[], Any],
    *,
    what: str,
    deadline_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Any:
    """Run ``call``, retrying throttling, 5xx and connection errors with full-jitter backoff.

    Gives up (re-raising the last error) once ``deadline_seconds`` have passed. A missing
    stream or permission raises ``KinesisSourceError`` at once with a message saying what to do.
    """
    from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError, HTTPClientError

    rng = rng or random.Random()
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return call()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code == "ResourceNotFoundException":
                raise KinesisSourceError(
                    f"{what}: {error}. The stream or shard does not exist: check KINESIS_STREAM_NAME and "
                    "AWS_REGION, or recreate the stream (a new stream needs a new CHECKPOINT_LOCATION)."
                ) from error
            if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException"):
                raise KinesisSourceError(
                    f"{what}: {error}. The job's credentials lack permission: grant kinesis:ListShards, "
                    "kinesis:GetShardIterator, kinesis:GetRecords and kinesis:DescribeStreamSummary."
                ) from error
            if code not in _RETRYABLE_CODES and status < 500:
                raise
            failure: Exception = error
        except (BotoConnectionError, HTTPClientError) as error:
            failure = error
        attempt += 1
        elapsed = time.monotonic() - started
        if elapsed >= deadline_seconds:
            raise failure
        backoff = min(deadline_seconds - elapsed, rng.uniform(0, min(10.0, 0.1 * 2**attempt)))
        log_event(logger, "kinesis_retry", logging.WARNING, call=what, attempt=attempt,
                  error=type(failure).__name__, detail=str(failure)[:200], backoff_s=round(backoff, 3))
        sleep(backoff)


class ShardReader:
    """Reads one shard of one stream with a boto3 Kinesis client."""

    def __init__(self, client: Any, stream_name: str, shard_id: str, limits: ReadLimits,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.stream_name = stream_name
        self.shard_id = shard_id
        self.limits = limits
        self.sleep = sleep

    def _iterator(self, position: Position) -> str:
        request = iterator_request(position)
        response = call_with_retries(
            lambda: self.client.get_shard_iterator(StreamName=self.stream_name, ShardId=self.shard_id, **request),
            what=f"GetShardIterator {self.shard_id}",
            deadline_seconds=self.limits.retry_deadline_seconds,
            sleep=self.sleep,
        )
        return response["ShardIterator"]

    def _get_records(self, iterator: str, limit: int, resume_from: Position) -> tuple[dict[str, Any], str]:
        """One GetRecords call; an expired iterator is renewed from ``resume_from``."""
        while True:
            try:
                response = call_with_retries(
                    lambda: self.client.get_records(ShardIterator=iterator, Limit=limit),
                    what=f"GetRecords {self.shard_id}",
                    deadline_seconds=self.limits.retry_deadline_seconds,
                    sleep=self.sleep,
                )
                return response, iterator
            except self.client.exceptions.ExpiredIteratorException:
                log_event(logger, "kinesis_iterator_expired", logging.WARNING, shard=self.shard_id,
                          resume_from=resume_from)
                iterator = self._iterator(resume_from)

    def read(self, start: Position, replay_to: ShardEnd | None) -> tuple[list[KinesisRecord], ShardEnd]:
        """Records after ``start``: up to the limits, or exactly up to ``replay_to`` when given."""
        if replay_to is not None and replay_to.records == 0:
            return [], replay_to
        records: list[KinesisRecord] = []
        position = dict(start)
        iterator = self._iterator(position)
        deadline = time.monotonic() + self.limits.max_fetch_seconds
        target = replay_to.end if replay_to is not None else None
        wanted = replay_to.records if replay_to is not None else self.limits.max_records
        millis_behind: int | None = None
        closed = False
        last_call = 0.0
        passed_target = False
        while len(records) < wanted and not passed_target:
            pause = _MIN_SECONDS_BETWEEN_CALLS - (time.monotonic() - last_call)
            if pause > 0:
                self.sleep(pause)
            last_call = time.monotonic()
            ask = min(10_000, wanted - len(records))
            response, iterator = self._get_records(iterator, ask, position)
            millis_behind = response.get("MillisBehindLatest")
            for raw in response["Records"]:
                for record in self._user_records(raw):
                    if is_consumed(start, record.sequence_number, record.sub_sequence_number):
                        continue
                    if target is not None and sequence_key(record.sequence_number, record.sub_sequence_number) > \
                            sequence_key(target["seq"], target.get("sub")):
                        passed_target = True
                        break
                    records.append(record)
                    position = position_after(record.sequence_number, record.sub_sequence_number)
                    if len(records) >= wanted:
                        break
                if len(records) >= wanted or passed_target:
                    break
            next_iterator = response.get("NextShardIterator")
            if next_iterator is None:
                closed = True
                break
            iterator = next_iterator
            if target is not None and millis_behind == 0 and not response["Records"]:
                break  # at the tip without reaching the recorded end: reported below
            if target is None:
                caught_up = millis_behind == 0 and len(response["Records"]) < ask
                if caught_up or time.monotonic() >= deadline:
                    break
        if replay_to is not None:
            if len(records) != replay_to.records:
                raise KinesisSourceError(
                    f"replaying shard {self.shard_id} found {len(records)} records up to {target}, the position log "
                    f"says {replay_to.records}: the records expired from the stream (retention) or the log belongs to "
                    "another stream. Start from a new CHECKPOINT_LOCATION."
                )
            return records, replay_to
        end = ShardEnd(end=position, records=len(records), closed=closed, millis_behind_latest=millis_behind)
        return records, end

    def _user_records(self, raw: dict[str, Any]) -> list[KinesisRecord]:
        data: bytes = raw["Data"]
        arrival: datetime = raw["ApproximateArrivalTimestamp"]
        sequence: str = raw["SequenceNumber"]
        users = deaggregate(data, raw["PartitionKey"])
        if users is None:
            return [KinesisRecord(data, raw["PartitionKey"], sequence, None, arrival)]
        return [KinesisRecord(user_data, key, sequence, index, arrival) for index, (key, user_data) in enumerate(users)]
