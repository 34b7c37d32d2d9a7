"""The driver's side of the source, framework-free: which shards each batch reads, from where, up to what.

``StreamPlanner`` answers what Spark's ``DataSourceStreamReader`` asks (initial offset, next
offset, the batch's shard reads, commit) in terms of ``positions.SourceOffset``; the Spark
adapter (``source``) only converts to and from JSON. A batch's end per shard is what its tasks
recorded in the position log, so planning never reads records itself.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Mapping
from datetime import datetime, timezone

from common.logs import log_event
from jobs.kinesis.client import KinesisClient, KinesisSourceError, StreamSummary, boto3_kinesis
from jobs.kinesis.consumer import ensure_consumer
from jobs.kinesis.options import SourceOptions
from jobs.kinesis.position_log import open_position_log
from jobs.kinesis.positions import (
    PositionLogMismatch,
    ShardEnd,
    SourceOffset,
    new_offset,
    per_shard_bytes,
    per_shard_limit,
    plan_next_offset,
)
from jobs.kinesis.shard_batch import ShardBatch

logger = logging.getLogger("jobs.kinesis")


def report_trimmed(ends: Mapping[str, ShardEnd], retention_ms: int, stream_name: str, now_ms: int) -> dict[str, int]:
    """Log the shards whose unread records may have outlived the stream's retention; ``{shard: gap ms}``.

    Reading a shard stands at ``read_through_ms``; records that arrived between it and the trim
    horizon (now minus retention) were deleted by Kinesis before the job read them.
    """
    gaps = {
        shard: now_ms - retention_ms - end.read_through_ms
        for shard, end in sorted(ends.items())
        if not end.closed and end.read_through_ms is not None and now_ms - retention_ms > end.read_through_ms
    }
    for shard, gap in gaps.items():
        log_event(
            logger,
            "kinesis_records_trimmed_unread",
            logging.ERROR,
            stream=stream_name,
            shard=shard,
            read_through=datetime.fromtimestamp(ends[shard].read_through_ms / 1000, timezone.utc).isoformat(),  # type: ignore[operator]
            gap_seconds=round(gap / 1000),
            retention_hours=retention_ms // 3_600_000,
            fix="records that arrived in the gap (if any) were deleted by Kinesis before the job read them: raise the "
            "stream's retention (docs/operations.md) and keep the job's downtime and lag below it",
        )
    return gaps


def check_same_stream(offset: SourceOffset, stream_name: str, created: float, checkpoint_hint: str) -> None:
    """Fail when the checkpoint was made for an earlier stream of the same name (deleted and recreated).

    Its positions mean nothing in the new stream: resuming would silently skip or misread records.
    An offset that carries no creation time is not checked.
    """
    recorded = offset.stream_created
    if recorded is not None and abs(recorded - created) > 0.001:
        raise KinesisSourceError(
            f"stream {stream_name!r} was created at {datetime.fromtimestamp(created, timezone.utc).isoformat()}, "
            f"but this checkpoint was made for a stream of that name created at "
            f"{datetime.fromtimestamp(recorded, timezone.utc).isoformat()}: the stream was deleted and recreated, "
            f"so the checkpoint's positions do not apply. Start from a new checkpoint: delete {checkpoint_hint} "
            "(make reset locally) or point CHECKPOINT_LOCATION elsewhere."
        )


def log_batch_read(batch: int, ends: Mapping[str, ShardEnd]) -> None:
    """One ``kinesis_batch_read`` line: per shard, what the batch read and how far behind the tip it stopped."""
    log_event(
        logger,
        "kinesis_batch_read",
        batch=batch,
        shards={
            shard: {
                "records": end.records,
                "millis_behind_latest": end.millis_behind_latest,
                "closed": end.closed,
                "retries": end.retries,
                "renewals": end.renewals,
            }
            for shard, end in sorted(ends.items())
        },
    )


def reached_tip(end: ShardEnd, batch: SourceOffset) -> bool:
    """The read stopped at the shard's tip, not at one of the batch's limits."""
    within_bytes = batch.byte_limit is None or end.bytes < batch.byte_limit
    return end.millis_behind_latest == 0 and end.records < batch.limit and within_bytes


class StreamPlanner:
    """Plans one read per open shard per batch, from where the previous batch's reads stopped."""

    def __init__(self, options: SourceOptions, client: KinesisClient | None = None) -> None:
        self.options = options
        self._client = client  # built on first use, in the process that plans
        self.available_now = False
        self._first_start_batch: int | None = None
        self._stream: StreamSummary | None = None  # described at the query's first planning
        self._consumer_arn: str | None = None  # registered (or found) at the first batch with consumerName
        self._closed_shards: frozenset[str] = frozenset()  # as ListShards last said

    @property
    def client(self) -> KinesisClient:
        if self._client is None:
            options = self.options
            self._client = KinesisClient(
                boto3_kinesis(options.aws), options.stream_name, options.retry_deadline_seconds
            )
        return self._client

    def initial_offset(self) -> SourceOffset:
        """Where a new checkpoint starts: ``startingPosition`` resolved now, with the stream's creation time."""
        starting = self.options.starting_position.resolve()
        offset = new_offset(starting.initial, self.options.max_records_per_shard, self.client.stream_summary().created)
        return dataclasses.replace(offset, shards=starting.per_shard)

    def next_offset(self, start: SourceOffset, max_rows: int | None, max_bytes: int | None = None) -> SourceOffset:
        """The offset the batch after ``start`` begins at (``start`` itself when drained under available-now).

        Parameters
        ----------
        start : the offset the batch just finished began at (its reads' ends are in the position log)
        max_rows : Spark's ``ReadMaxRows`` limit for the whole batch, or None
        max_bytes : Spark's ``ReadMaxBytes`` limit for the whole batch, or None

        Returns
        -------
        Per open shard, the position after the last record read (children of finished parents join
        once their parents are read to the end), and the next batch's per-shard record and byte limits.
        """
        if self._stream is None:  # once per query start: a restart may find the stream recreated
            self._stream = self.client.stream_summary()
            check_same_stream(
                start,
                self.options.stream_name,
                self._stream.created,
                os.path.dirname(self.options.position_log.rstrip("/")) or self.options.position_log,
            )
        ends = self._ends(start)
        report_trimmed(ends, self._stream.retention_ms, self.options.stream_name, int(time.time() * 1000))
        listed = self.client.list_shards()
        self._closed_shards = frozenset(shard.shard_id for shard in listed if shard.closed)
        shard_count = max(1, len(start.shards) or len(listed))
        per_shard = per_shard_limit(max_rows, shard_count, self.options.max_records_per_shard)
        try:
            planned = plan_next_offset(start, ends, listed, per_shard, per_shard_bytes(max_bytes, shard_count))
        except PositionLogMismatch as error:
            raise PositionLogMismatch(
                f"{error}. The position log at {self.options.position_log} no longer matches the Spark checkpoint "
                "beside it (deleted, moved, or purged too early). Restore it, or delete the query's checkpoint "
                "directory too (make reset) to start over from startingPosition."
            ) from None
        if start.batch > 0:
            log_batch_read(start.batch, ends)
        if self._first_start_batch is None:
            self._first_start_batch = start.batch
        # Drained: a batch of this run (not one before a restart) reached the tip of every shard.
        drained = (
            start.batch > self._first_start_batch
            and all(end.closed or reached_tip(end, start) for end in ends.values())
            and set(planned.shards) == set(start.shards)
        )
        return start if self.available_now and drained else planned

    def consumer_arn(self) -> str | None:
        """The ARN of the stream consumer ``consumerName`` (registered on first use), None without one."""
        name = self.options.consumer_name
        if name is not None and self._consumer_arn is None:
            self._consumer_arn = ensure_consumer(
                boto3_kinesis(self.options.aws), self.options.stream_name, name, self.options.retry_deadline_seconds
            )
        return self._consumer_arn

    def shard_batches(self, planned: SourceOffset) -> list[ShardBatch]:
        """The reads of the batch that begins at ``planned``: one per shard.

        With ``consumerName`` open shards are read through enhanced fan-out; a closed shard's finite
        remainder is polled, which sees its end (kinesis-local never ends a subscription to one).
        """
        consumer_arn = self.consumer_arn()
        return [
            ShardBatch(
                self.options,
                planned.run,
                planned.batch,
                shard,
                position,
                planned.limit,
                planned.byte_limit,
                None if shard in self._closed_shards else consumer_arn,
            )
            for shard, position in planned.shards.items()
        ]

    def commit(self, committed: SourceOffset) -> None:
        """Spark committed the batch beginning at ``committed``: purge position-log entries past the retention."""
        keep_from = committed.batch - self.options.position_log_retention
        if keep_from > 0:
            open_position_log(self.options.position_log, committed.run, self.options.aws).purge_before(keep_from)

    def _ends(self, start: SourceOffset) -> dict[str, ShardEnd]:
        if start.batch == 0:
            # Nothing read yet: per-shard starting positions carry over unchanged.
            return {shard: ShardEnd(position=pos, records=0, closed=False) for shard, pos in start.shards.items()}
        log = open_position_log(self.options.position_log, start.run, self.options.aws)
        ends = {}
        for shard in start.shards:
            entry = log.get(start.batch, shard)
            if entry is not None:
                ends[shard] = entry
        return ends
