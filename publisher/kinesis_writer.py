"""Publishing records to Kinesis with ``PutRecords``: batching, partial-failure retries, backoff.

``KinesisWriter.put_each`` splits records into calls of at most 500 records and 5 MiB, sends each,
and re-sends only the records a call reports as failed (throttled or internal error), with
exponential backoff and full jitter, until all are accepted or the deadline passes. It answers
one ``PutResult`` per record: the shard and sequence number Kinesis stored it under, or the
error of its last attempt. ``put`` returns just the records still failing, which the publishing
loop keeps buffered: nothing accepted by the publisher is dropped.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from common.aws import THROTTLE_CODES, full_jitter_backoff
from common.logs import log_event
from publisher.failures import KINESIS_ERROR, failure_code, failure_detail, safe_code

if TYPE_CHECKING:
    from typing import Unpack

    from mypy_boto3_kinesis.type_defs import (
        PutRecordsInputTypeDef,
        PutRecordsOutputTypeDef,
        PutRecordsResultEntryTypeDef,
    )

logger = logging.getLogger("publisher.kinesis")

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
# Kinesis refuses a record whose data plus partition key exceed 1 MiB (and with it the whole call).
MAX_RECORD_BYTES = 1024 * 1024
BASE_BACKOFF_SECONDS = 0.05
MAX_BACKOFF_SECONDS = 5.0


@dataclass(frozen=True)
class Record:
    partition_key: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode())


@dataclass(frozen=True)
class PutResult:
    """Kinesis' answer for one record: where it was stored, or the error of its last attempt.

    ``error_code`` is a code (``publisher.failures``), safe to answer with; ``error_message`` is
    upstream text, which may name accounts and ARNs: for the log only.
    """

    shard_id: str | None = None
    sequence_number: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def stored(self) -> bool:
        return self.error_code is None


def _result(entry: PutRecordsResultEntryTypeDef) -> PutResult:
    """One entry of a PutRecords response as a ``PutResult``."""
    if "ErrorCode" in entry:
        return PutResult(
            error_code=safe_code(str(entry["ErrorCode"])), error_message=str(entry.get("ErrorMessage", ""))
        )
    return PutResult(shard_id=str(entry["ShardId"]), sequence_number=str(entry["SequenceNumber"]))


@dataclass
class WriterStats:
    """Counters and the last failure: ``last_error_code`` for answers, ``last_error`` (full text) for the log."""

    published: int = 0
    retried: int = 0
    throttled: int = 0
    last_publish_time: float | None = None
    last_error: str | None = None
    last_error_code: str | None = None


def chunk_records(records: Sequence[Record]) -> list[list[Record]]:
    """Split into PutRecords calls of at most 500 records and 5 MiB each, order kept."""
    calls: list[list[Record]] = []
    current: list[Record] = []
    size = 0
    for record in records:
        if current and (len(current) == MAX_RECORDS_PER_CALL or size + record.size > MAX_BYTES_PER_CALL):
            calls.append(current)
            current, size = [], 0
        current.append(record)
        size += record.size
    if current:
        calls.append(current)
    return calls


class PutRecordsClient(Protocol):
    """The one call of a boto3 Kinesis client the writer makes (boto3's client has it, a fake may stand in)."""

    def put_records(self, **kwargs: Unpack[PutRecordsInputTypeDef]) -> PutRecordsOutputTypeDef: ...


class KinesisWriter:
    """Sends records to one stream; thread-safe counters for /health and /metrics."""

    def __init__(
        self,
        client: PutRecordsClient,
        stream_name: str,
        *,
        retry_deadline_seconds: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        on_call: Callable[[float, int, int], None] | None = None,
    ) -> None:
        self.client = client
        self.stream_name = stream_name
        self.retry_deadline_seconds = retry_deadline_seconds
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.stats = WriterStats()
        self.on_call = on_call
        self._lock = threading.Lock()

    def _send(self, batch: list[Record]) -> list[PutResult]:
        """One PutRecords call; one result per record of ``batch``, in order."""
        started = time.monotonic()
        try:
            response = self.client.put_records(
                StreamName=self.stream_name,
                Records=[{"PartitionKey": r.partition_key, "Data": r.data} for r in batch],
            )
        except Exception as error:
            return self._failed_call(batch, failure_code(error), failure_detail(error), started)
        entries = response.get("Records")
        if not isinstance(entries, list) or len(entries) != len(batch):
            count = len(entries) if isinstance(entries, list) else None
            detail = f"PutRecords answered {count} results for {len(batch)} records"
            return self._failed_call(batch, KINESIS_ERROR, detail, started)
        results = [_result(entry) for entry in entries]
        failed = sum(1 for result in results if not result.stored)
        throttled = sum(1 for result in results if result.error_code in THROTTLE_CODES)
        with self._lock:
            self.stats.published += len(batch) - failed
            self.stats.throttled += throttled
            self.stats.last_publish_time = time.time()
            if failed:
                refused = [result for result in results if not result.stored]
                codes = sorted({result.error_code or "" for result in refused})
                self.stats.last_error = (
                    f"{failed} of {len(batch)} records failed: {', '.join(codes)} ({refused[0].error_message})"
                )[:500]
                self.stats.last_error_code = refused[0].error_code
        if self.on_call:
            self.on_call(time.monotonic() - started, len(batch) - failed, failed)
        return results

    def record_failure(self, code: str, detail: str, throttled: int = 0) -> None:
        """Keep ``code`` (for answers) and ``detail`` (for the log) as the last failure; count ``throttled`` records."""
        with self._lock:
            self.stats.last_error, self.stats.last_error_code = detail, code
            self.stats.throttled += throttled

    def _failed_call(self, batch: list[Record], code: str, detail: str, started: float) -> list[PutResult]:
        """Every record of ``batch`` failed with ``code``: counted, kept as the last error, one result each."""
        self.record_failure(code, detail, throttled=len(batch) if code in THROTTLE_CODES else 0)
        if self.on_call:
            self.on_call(time.monotonic() - started, 0, len(batch))
        return [PutResult(error_code=code, error_message=detail)] * len(batch)

    def put(self, records: Sequence[Record]) -> list[Record]:
        """Publish ``records``; returns those still failing after the retry deadline (order kept)."""
        return [record for record, result in zip(records, self.put_each(records), strict=True) if not result.stored]

    def put_each(self, records: Sequence[Record]) -> list[PutResult]:
        """Publish ``records``, re-sending failed ones until the retry deadline; one result per record, in order."""
        results: dict[int, PutResult] = {}
        pending = list(range(len(records)))
        deadline = time.monotonic() + self.retry_deadline_seconds
        attempt = 0
        while pending:
            failed: list[int] = []
            sent = 0
            for call in chunk_records([records[index] for index in pending]):
                indices = pending[sent : sent + len(call)]
                sent += len(call)
                for index, result in zip(indices, self._send(call), strict=True):
                    results[index] = result
                    if not result.stored:
                        failed.append(index)
            if not failed:
                break
            attempt += 1
            with self._lock:
                self.stats.retried += len(failed)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log_event(
                    logger,
                    "put_records_gave_up",
                    logging.WARNING,
                    records=len(failed),
                    code=self.stats.last_error_code,
                    error=self.stats.last_error,
                )
                break
            backoff = min(remaining, full_jitter_backoff(attempt, self.rng, BASE_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS))
            log_event(
                logger,
                "put_records_retry",
                logging.INFO,
                records=len(failed),
                attempt=attempt,
                backoff_s=round(backoff, 3),
                code=self.stats.last_error_code,
                error=self.stats.last_error,
            )
            self.sleep(backoff)
            pending = failed
        return [results[index] for index in range(len(records))]
