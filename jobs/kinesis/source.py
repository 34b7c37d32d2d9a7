"""The ``kinesis`` streaming data source for Spark (Python Data Source API, pyspark 4.3).

Usage::

    spark.dataSource.register(KinesisDataSource)
    spark.readStream.format("kinesis").option("streamName", "articles")
         .option("positionLog", "/checkpoints/articles/kinesis-positions").load()

Options (case-insensitive): ``streamName`` (required), ``region``, ``endpointUrl``,
``startingPosition`` (TRIM_HORIZON | LATEST | AT_TIMESTAMP:<epoch seconds or RFC 3339> |
JSON ``{"shardId-...": {"type": "AFTER_SEQUENCE_NUMBER", "seq": "..."}}``), ``positionLog``
(required: local directory or s3:// prefix), ``maxRecordsPerShard`` (10000),
``maxFetchSeconds`` (2), ``retryDeadlineSeconds`` (60), ``positionLogRetention`` (100 batches),
``faultInjection`` (off; e.g. ``throttle=0.3,server_error=0.1,expire_iterator=0.1,seed=7``, see
``faults``; the ``KINESIS_FAULT_INJECTION`` environment variable of the driver sets a default).

One Spark task per open shard reads it on an executor and records where it stopped in the
position log (see ``position_log``); the next batch starts there. Starting positions apply to
a new checkpoint only: a restart resumes from the checkpoint.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.streaming.datasource import ReadAllAvailable, ReadLimit, ReadMaxRows, SupportsTriggerAvailableNow
from pyspark.sql.types import BinaryType, LongType, StringType, StructField, StructType, TimestampType

from common.logs import configure_logging, log_event
from common.settings import AwsSettings, SettingError
from jobs.kinesis.faults import FaultSpec, FaultyKinesisClient
from jobs.kinesis.position_log import open_position_log
from jobs.kinesis.positions import (
    Position,
    PositionLogMismatch,
    ShardEnd,
    ShardInfo,
    SourceOffset,
    StartingPosition,
    new_offset,
    per_shard_limit,
    plan_next_offset,
)
from jobs.kinesis.shard_reader import KinesisRecord, KinesisSourceError, ReadLimits, ShardReader, call_with_retries

logger = logging.getLogger("jobs.kinesis")

SOURCE_SCHEMA = StructType(
    [
        StructField("data", BinaryType(), False),
        StructField("partition_key", StringType(), False),
        StructField("shard_id", StringType(), False),
        StructField("sequence_number", StringType(), False),
        StructField("sub_sequence_number", LongType(), True),
        StructField("arrival_time", TimestampType(), False),
    ]
)
_ARROW_CHUNK_ROWS = 4096


@dataclass(frozen=True)
class SourceOptions:
    """The source's options, validated once on the driver."""

    stream_name: str
    aws: AwsSettings
    starting_position: StartingPosition
    position_log: str
    max_records_per_shard: int
    max_fetch_seconds: float
    retry_deadline_seconds: float
    position_log_retention: int
    log_level: str
    faults: FaultSpec = dataclasses.field(default_factory=FaultSpec)

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> SourceOptions:
        lowered = {key.lower(): value for key, value in options.items()}

        def required(name: str) -> str:
            value = lowered.get(name.lower(), "").strip()
            if not value:
                raise SettingError(f"kinesis source option {name!r} is required")
            return value

        def number(name: str, default: float, kind: type = float) -> Any:
            raw = lowered.get(name.lower())
            if raw is None:
                return kind(default)
            try:
                value = kind(raw)
            except ValueError:
                raise SettingError(f"kinesis source option {name!r} must be a number, got {raw!r}") from None
            if not 0 < value < math.inf:
                raise SettingError(f"kinesis source option {name!r} must be a finite number > 0, got {raw!r}")
            return value

        # Parsed now; resolved (LATEST pinned to a time) only when a new checkpoint starts.
        starting = StartingPosition.parse("startingPosition", lowered.get("startingposition", "TRIM_HORIZON"))
        return cls(
            stream_name=required("streamName"),
            aws=AwsSettings(region=lowered.get("region", "us-east-1"), endpoint_url=lowered.get("endpointurl") or None),
            starting_position=starting,
            position_log=required("positionLog"),
            max_records_per_shard=number("maxRecordsPerShard", 10_000, int),
            max_fetch_seconds=number("maxFetchSeconds", 2.0),
            retry_deadline_seconds=number("retryDeadlineSeconds", 60.0),
            position_log_retention=number("positionLogRetention", 100, int),
            log_level=lowered.get("loglevel", "INFO"),
            faults=FaultSpec.parse(lowered.get("faultinjection", os.environ.get("KINESIS_FAULT_INJECTION"))),
        )


class KinesisPartition(InputPartition):
    """Everything a task needs to read one shard for one batch (travels to the executor)."""

    def __init__(
        self, options: SourceOptions, run: str, batch: int, shard_id: str, *, start: Position, limit: int
    ) -> None:
        super().__init__(shard_id)
        self.options = options
        self.run = run
        self.batch = batch
        self.shard_id = shard_id
        self.start = start
        self.limit = limit


def list_shards(client: Any, stream_name: str, retry_deadline_seconds: float) -> list[ShardInfo]:
    """All shards Kinesis lists for the stream (open and closed within retention)."""
    shards: list[ShardInfo] = []
    request: dict[str, Any] = {"StreamName": stream_name}
    while True:
        response = call_with_retries(
            functools.partial(client.list_shards, **request),
            what=f"ListShards {stream_name}",
            deadline_seconds=retry_deadline_seconds,
        )
        shards.extend(
            ShardInfo(s["ShardId"], s.get("ParentShardId"), s.get("AdjacentParentShardId")) for s in response["Shards"]
        )
        token = response.get("NextToken")
        if not token:
            return shards
        request = {"NextToken": token}


@dataclass(frozen=True)
class StreamSummary:
    """What the source needs to know of the stream itself."""

    created: float  # epoch seconds: what tells a recreated stream from the original
    retention_ms: int  # records older than this are trimmed by Kinesis


def stream_summary(client: Any, stream_name: str, retry_deadline_seconds: float) -> StreamSummary:
    response = call_with_retries(
        lambda: client.describe_stream_summary(StreamName=stream_name),
        what=f"DescribeStreamSummary {stream_name}",
        deadline_seconds=retry_deadline_seconds,
    )
    summary = response["StreamDescriptionSummary"]
    return StreamSummary(
        created=float(summary["StreamCreationTimestamp"].timestamp()),
        retention_ms=int(summary["RetentionPeriodHours"]) * 3_600_000,
    )


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
    Offsets written before the creation time was recorded carry none and are not checked.
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


@functools.lru_cache(maxsize=8)
def kinesis_client(aws: AwsSettings) -> Any:
    """A Kinesis client whose retries are left to ``call_with_retries``.

    Cached per Python worker (boto3 clients are thread-safe; Spark reuses workers): building
    one per task cost ~0.2 s of every batch in ``make bench``. Timeouts are short (a GetRecords
    answer takes well under a second) so a frozen endpoint shows as logged retries, not a silent hang.
    """
    from common.aws import client

    return client("kinesis", aws, retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=10)


def records_to_arrow(records: list[KinesisRecord], shard_id: str) -> Iterator[Any]:
    """Arrow record batches matching ``SOURCE_SCHEMA`` exactly (UTC microsecond timestamps)."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = to_arrow_schema(SOURCE_SCHEMA, timezone="UTC")
    for begin in range(0, len(records), _ARROW_CHUNK_ROWS):
        chunk = records[begin : begin + _ARROW_CHUNK_ROWS]
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([r.data for r in chunk], pa.binary()),
                pa.array([r.partition_key for r in chunk], pa.string()),
                pa.array([shard_id] * len(chunk), pa.string()),
                pa.array([r.sequence_number for r in chunk], pa.string()),
                pa.array([r.sub_sequence_number for r in chunk], pa.int64()),
                pa.array([r.arrival_time for r in chunk], pa.timestamp("us", tz="UTC")),
            ],
            schema=schema,
        )


def read_partition(partition: KinesisPartition) -> tuple[list[KinesisRecord], ShardEnd]:
    """Read one shard for one batch, recording (or replaying) its end in the position log."""
    options = partition.options
    log = open_position_log(options.position_log, partition.run, options.aws)
    recorded = log.get(partition.batch, partition.shard_id)
    client = kinesis_client(options.aws)
    if options.faults.enabled:
        client = FaultyKinesisClient(client, options.faults, f"{partition.run}:{partition.batch}:{partition.shard_id}")
    reader = ShardReader(
        client,
        options.stream_name,
        partition.shard_id,
        ReadLimits(
            max_records=partition.limit,
            max_fetch_seconds=options.max_fetch_seconds,
            retry_deadline_seconds=options.retry_deadline_seconds,
        ),
    )
    records, end = reader.read(partition.start, recorded)
    if recorded is None:
        winner = log.put_if_absent(partition.batch, partition.shard_id, end)
        if winner != end:
            # Another attempt of this task recorded its end first: return exactly its records.
            if winner.records <= len(records):
                records = records[: winner.records]
            else:
                records, _ = reader.read(partition.start, winner)
            end = winner
    return records, end


class KinesisStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    """Plans one partition per shard per batch; tasks read the shards on executors."""

    def __init__(self, options: SourceOptions) -> None:
        self.options = options
        self._available_now = False
        self._first_start_batch: int | None = None
        self._stream: StreamSummary | None = None  # described at the query's first planning

    @property
    def client(self) -> Any:
        return kinesis_client(self.options.aws)

    def _describe_stream(self) -> StreamSummary:
        return stream_summary(self.client, self.options.stream_name, self.options.retry_deadline_seconds)

    def initialOffset(self) -> dict[str, Any]:
        starting = self.options.starting_position.resolve()
        offset = new_offset(starting.initial, self.options.max_records_per_shard, self._describe_stream().created)
        return dataclasses.replace(offset, shards=starting.per_shard).to_json()

    def getDefaultReadLimit(self) -> ReadLimit:
        return ReadAllAvailable()

    def prepareForTriggerAvailableNow(self) -> None:
        self._available_now = True

    def _ends(self, start: SourceOffset) -> dict[str, ShardEnd]:
        if start.batch == 0:
            # Nothing read yet: per-shard starting positions carry over unchanged.
            return {shard: ShardEnd(end=pos, records=0, closed=False) for shard, pos in start.shards.items()}
        log = open_position_log(self.options.position_log, start.run, self.options.aws)
        ends = {}
        for shard in start.shards:
            entry = log.get(start.batch, shard)
            if entry is not None:
                ends[shard] = entry
        return ends

    def latestOffset(self, start_json: dict[str, Any], limit: ReadLimit) -> dict[str, Any]:
        start = SourceOffset.from_json(start_json)
        if self._stream is None:  # once per query start: a restart may find the stream recreated
            self._stream = self._describe_stream()
            check_same_stream(
                start,
                self.options.stream_name,
                self._stream.created,
                os.path.dirname(self.options.position_log.rstrip("/")) or self.options.position_log,
            )
        ends = self._ends(start)
        report_trimmed(ends, self._stream.retention_ms, self.options.stream_name, int(time.time() * 1000))
        listed = list_shards(self.client, self.options.stream_name, self.options.retry_deadline_seconds)
        max_rows = limit.max_rows if isinstance(limit, ReadMaxRows) else None
        per_shard = per_shard_limit(
            max_rows, max(1, len(start.shards) or len(listed)), self.options.max_records_per_shard
        )
        try:
            planned = plan_next_offset(start, ends, listed, per_shard)
        except PositionLogMismatch as error:
            raise PositionLogMismatch(
                f"{error}. The position log at {self.options.position_log} no longer matches the Spark checkpoint "
                "beside it (deleted, moved, or purged too early). Restore it, or delete the query's checkpoint "
                "directory too (make reset) to start over from startingPosition."
            ) from None
        if start.batch > 0:
            log_event(
                logger,
                "kinesis_batch_read",
                batch=start.batch,
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
        if self._first_start_batch is None:
            self._first_start_batch = start.batch
        # Drained: a batch of this run (not one before a restart) reached the tip of every shard.
        drained = (
            start.batch > self._first_start_batch
            and all(
                end.closed or (end.millis_behind_latest == 0 and end.records < start.limit) for end in ends.values()
            )
            and set(planned.shards) == set(start.shards)
        )
        return (start if self._available_now and drained else planned).to_json()

    def partitions(self, start: dict[str, Any], end: dict[str, Any]) -> list[KinesisPartition]:  # noqa: ARG002 - Spark's signature
        planned = SourceOffset.from_json(end)
        return [
            KinesisPartition(self.options, planned.run, planned.batch, shard, start=position, limit=planned.limit)
            for shard, position in planned.shards.items()
        ]

    def read(self, partition: KinesisPartition) -> Iterator[Any]:  # type: ignore[override]
        if not logging.getLogger().handlers:
            configure_logging(partition.options.log_level)
        records, _ = read_partition(partition)
        yield from records_to_arrow(records, partition.shard_id)

    def commit(self, end: dict[str, Any]) -> None:
        committed = SourceOffset.from_json(end)
        keep_from = committed.batch - self.options.position_log_retention
        if keep_from > 0:
            open_position_log(self.options.position_log, committed.run, self.options.aws).purge_before(keep_from)


class KinesisDataSource(DataSource):
    """``spark.readStream.format("kinesis")``: an AWS Kinesis Data Stream, exactly once."""

    @classmethod
    def name(cls) -> str:
        return "kinesis"

    def schema(self) -> StructType:
        return SOURCE_SCHEMA

    def streamReader(self, schema: StructType) -> KinesisStreamReader:  # noqa: ARG002 - Spark's or boto3's signature
        return KinesisStreamReader(SourceOptions.from_options(dict(self.options)))
