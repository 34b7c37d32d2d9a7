"""Reading one shard for one batch on an executor: GetRecords with limits, retries and replay.

``read_shard`` reads from a start position until a limit (records, fetch time, shard end,
caught up with the tip) and returns the records and where it stopped. Given the end a
previous attempt recorded, it instead stops exactly there, so a replayed batch returns the
same records. KPL aggregated records are split into their user records, each keeping the
sub-sequence number that makes a position inside an aggregate exact.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from common.aws import RETRYABLE_CODES, error_code, full_jitter_backoff
from common.logs import log_event
from jobs.kinesis.positions import Position, ShardEnd, is_consumed, iterator_request, position_after, sequence_key

logger = logging.getLogger("jobs.kinesis")

_KPL_MAGIC = b"\xf3\x89\x9a\xc2"
# Kinesis allows 5 GetRecords calls per second per shard.
_MIN_SECONDS_BETWEEN_CALLS = 0.2
BASE_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 10.0


class KinesisSourceError(RuntimeError):
    """A failure retrying cannot fix (stream deleted, permission missing); says what to do."""


def read_through_ms(records: list[KinesisRecord], millis_behind: int | None) -> int | None:
    """Epoch ms before which every record of the shard has been read (``ShardEnd.read_through_ms``)."""
    if millis_behind == 0:
        return int(time.time() * 1000)
    if records:
        return int(records[-1].arrival_time.timestamp() * 1000)
    return None


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
    message, digest = data[len(_KPL_MAGIC) : -16], data[-16:]
    if hashlib.md5(message).digest() != digest:
        return None
    # aws_kinesis_agg's generated messages_pb2 imports ``config_pb2`` as a top-level module; its
    # deaggregator module puts the package directory on sys.path first, so import through it.
    from aws_kinesis_agg.deaggregator import messages_pb2

    aggregated = messages_pb2.AggregatedRecord()
    try:
        aggregated.ParseFromString(message)
    except Exception:
        return None
    keys = list(aggregated.partition_key_table)
    return [(keys[r.partition_key_index] if keys else partition_key, r.data) for r in aggregated.records]


def backoff_seconds(attempt: int, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(10 s, 0.1 s * 2**attempt)]."""
    return full_jitter_backoff(attempt, rng, BASE_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS)


def call_with_retries(
    call: Callable[[], Any],
    *,
    what: str,
    deadline_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_retry: Callable[[Exception], None] | None = None,
) -> Any:
    """Run ``call``, retrying throttling, 5xx and connection errors with full-jitter backoff.

    Gives up once ``deadline_seconds`` have passed, raising ``KinesisSourceError`` that names
    the deadline (the last error chained). A missing stream or permission raises
    ``KinesisSourceError`` at once with a message saying what to do; other client errors
    (``ExpiredIteratorException`` among them) are re-raised unchanged for the caller.
    """
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    rng = rng or random.Random()
    started = clock()
    attempt = 0
    while True:
        try:
            return call()
        except ClientError as error:
            code = error_code(error)
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
            if code not in RETRYABLE_CODES and status < 500:
                raise
            failure: Exception = error
        except (BotoConnectionError, HTTPClientError) as error:
            failure = error
        attempt += 1
        elapsed = clock() - started
        if elapsed >= deadline_seconds:
            raise KinesisSourceError(
                f"{what}: still failing after {attempt} attempts over {elapsed:.1f} s, the retry deadline "
                f"(retryDeadlineSeconds={deadline_seconds:g}): {type(failure).__name__}: {failure}. Kinesis is "
                "throttling or unavailable for longer than the deadline: raise retryDeadlineSeconds, read fewer "
                "records per batch, or check the endpoint and the stream's capacity."
            ) from failure
        backoff = min(deadline_seconds - elapsed, backoff_seconds(attempt, rng))
        log_event(
            logger,
            "kinesis_retry",
            logging.WARNING,
            call=what,
            attempt=attempt,
            error=error_code(failure) or type(failure).__name__,
            detail=str(failure)[:200],
            backoff_s=round(backoff, 3),
        )
        if on_retry is not None:
            on_retry(failure)
        sleep(backoff)


class ShardReader:
    """Reads one shard of one stream with a boto3 Kinesis client.

    ``retries`` counts the calls retried (throttling, 5xx, connection errors) and ``renewals``
    the expired iterators renewed, over the reader's life; both go into the position log.
    """

    def __init__(
        self,
        client: Any,
        stream_name: str,
        shard_id: str,
        limits: ReadLimits,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.stream_name = stream_name
        self.shard_id = shard_id
        self.limits = limits
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()
        self.retries = 0
        self.renewals = 0
        self.get_records_calls = 0

    def _count_retry(self, _error: Exception) -> None:
        self.retries += 1

    def _call(self, call: Callable[[], Any], what: str) -> Any:
        return call_with_retries(
            call,
            what=what,
            deadline_seconds=self.limits.retry_deadline_seconds,
            sleep=self.sleep,
            rng=self.rng,
            clock=self.clock,
            on_retry=self._count_retry,
        )

    def _iterator(self, position: Position) -> str:
        request = iterator_request(position)
        response = self._call(
            lambda: self.client.get_shard_iterator(StreamName=self.stream_name, ShardId=self.shard_id, **request),
            f"GetShardIterator {self.shard_id}",
        )
        return str(response["ShardIterator"])

    def _get_records_call(self, iterator: str, limit: int) -> Any:
        """One GetRecords request, counted (throttled ones too: Kinesis counts them against 5/s per shard)."""
        self.get_records_calls += 1
        return self.client.get_records(ShardIterator=iterator, Limit=limit)

    def _get_records(self, iterator: str, limit: int, resume_from: Position) -> tuple[dict[str, Any], str]:
        """One GetRecords call; an expired iterator is renewed from ``resume_from`` (within the deadline)."""
        from botocore.exceptions import ClientError

        started = self.clock()
        while True:
            try:
                response = self._call(
                    functools.partial(self._get_records_call, iterator, limit),
                    f"GetRecords {self.shard_id}",
                )
                return response, iterator
            except ClientError as error:
                if error_code(error) != "ExpiredIteratorException":
                    raise
                if self.clock() - started >= self.limits.retry_deadline_seconds:
                    raise KinesisSourceError(
                        f"GetRecords {self.shard_id}: the shard iterator kept expiring for "
                        f"{self.limits.retry_deadline_seconds:g} s (retryDeadlineSeconds)"
                    ) from error
                self.renewals += 1
                log_event(
                    logger, "kinesis_iterator_expired", logging.WARNING, shard=self.shard_id, resume_from=resume_from
                )
                iterator = self._iterator(resume_from)

    def read(self, start: Position, replay_to: ShardEnd | None) -> tuple[list[KinesisRecord], ShardEnd]:
        """Records after ``start``: up to the limits, or exactly up to ``replay_to`` when given."""
        if replay_to is not None and replay_to.records == 0:
            return [], replay_to
        records: list[KinesisRecord] = []
        # Where reading stands: every record at or before it has been returned (or precedes start).
        # Records at or before it are skipped, which also makes a renewed iterator (re-opened at an
        # aggregate whose first sub-records were already read) exact.
        position = start
        iterator = self._iterator(position)
        deadline = self.clock() + self.limits.max_fetch_seconds
        target = replay_to.end if replay_to is not None else None
        wanted = replay_to.records if replay_to is not None else self.limits.max_records
        millis_behind: int | None = None
        closed = False
        last_call = float("-inf")
        passed_target = False
        while len(records) < wanted and not passed_target:
            pause = _MIN_SECONDS_BETWEEN_CALLS - (self.clock() - last_call)
            if pause > 0:
                self.sleep(pause)
            last_call = self.clock()
            ask = min(10_000, wanted - len(records))
            response, iterator = self._get_records(iterator, ask, position)
            millis_behind = response.get("MillisBehindLatest")
            position, stopped_inside = self._take(response, position, records, wanted, target)
            passed_target = stopped_inside and target is not None
            next_iterator = response.get("NextShardIterator")
            if next_iterator is None:
                # The shard is closed and this was its last response: finished only if all of it was read.
                closed = not stopped_inside
                break
            iterator = next_iterator
            if target is not None and millis_behind == 0 and not response["Records"]:
                break  # at the tip without reaching the recorded end: reported below
            if target is None:
                caught_up = millis_behind == 0 and len(response["Records"]) < ask
                if caught_up or self.clock() >= deadline:
                    break
        if replay_to is not None:
            self._check_replay(records, replay_to)
            return records, replay_to
        end = ShardEnd(
            end=position,
            records=len(records),
            closed=closed,
            millis_behind_latest=millis_behind,
            retries=self.retries,
            renewals=self.renewals,
            get_records_calls=self.get_records_calls,
            read_through_ms=read_through_ms(records, millis_behind),
        )
        return records, end

    def _take(
        self,
        response: dict[str, Any],
        position: Position,
        records: list[KinesisRecord],
        wanted: int,
        target: Position | None,
    ) -> tuple[Position, bool]:
        """Append the response's unread user records to ``records``, up to ``wanted`` and not past ``target``.

        Returns the new position and whether records of this response were left unread.
        """
        for raw in response["Records"]:
            for record in self._user_records(raw):
                if is_consumed(position, record.sequence_number, record.sub_sequence_number):
                    continue
                if len(records) >= wanted or (
                    target is not None
                    and sequence_key(record.sequence_number, record.sub_sequence_number)
                    > sequence_key(target["seq"], target.get("sub"))
                ):
                    return position, True
                records.append(record)
                position = position_after(record.sequence_number, record.sub_sequence_number)
        return position, False

    def _check_replay(self, records: list[KinesisRecord], replay_to: ShardEnd) -> None:
        if len(records) != replay_to.records:
            raise KinesisSourceError(
                f"replaying shard {self.shard_id} found {len(records)} records up to {replay_to.end}, the position log "
                f"says {replay_to.records}: the records expired from the stream (retention) or the log belongs to "
                "another stream. Start from a new CHECKPOINT_LOCATION."
            )

    def _user_records(self, raw: dict[str, Any]) -> list[KinesisRecord]:
        data: bytes = raw["Data"]
        arrival: datetime = raw["ApproximateArrivalTimestamp"]
        sequence: str = raw["SequenceNumber"]
        users = deaggregate(data, raw["PartitionKey"])
        if users is None:
            return [KinesisRecord(data, raw["PartitionKey"], sequence, None, arrival)]
        return [KinesisRecord(user_data, key, sequence, index, arrival) for index, (key, user_data) in enumerate(users)]
