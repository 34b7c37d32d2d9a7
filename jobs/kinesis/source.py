"""The ``kinesis`` streaming data source for Spark: Spark's calls mapped onto ``planner`` and ``shard_batch``.

Usage::

    spark.dataSource.register(KinesisDataSource)
    spark.readStream.format("kinesis").option("streamName", "articles")
         .option("positionLog", "/checkpoints/articles/kinesis-positions").load()

Options are listed in ``options``. One Spark task per open shard reads it on an executor and
records where it stopped in the position log (``position_log``); the next batch starts there.
Starting positions apply to a new checkpoint only: a restart resumes from the checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.streaming.datasource import (
    ReadAllAvailable,
    ReadLimit,
    ReadMaxBytes,
    ReadMaxRows,
    SupportsTriggerAvailableNow,
)
from pyspark.sql.types import BinaryType, LongType, StringType, StructField, StructType, TimestampType

from common.logs import configure_logging
from jobs.kinesis.options import SourceOptions
from jobs.kinesis.planner import StreamPlanner
from jobs.kinesis.positions import SourceOffset
from jobs.kinesis.shard_batch import ShardBatch, read_shard_batch
from jobs.kinesis.shard_reader import KinesisRecord

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


class KinesisPartition(InputPartition):
    """One shard's read for one batch, as Spark ships it to an executor."""

    def __init__(self, shard_batch: ShardBatch) -> None:
        super().__init__(shard_batch.shard_id)
        self.shard_batch = shard_batch


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


class KinesisStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    """Plans one partition per shard per batch (``StreamPlanner``); tasks read the shards on executors."""

    def __init__(self, options: SourceOptions) -> None:
        self.planner = StreamPlanner(options)

    def initialOffset(self) -> dict[str, Any]:
        """The offset a new checkpoint starts at.

        Returns
        -------
        dict
            ``startingPosition`` resolved now (LATEST pinned to this moment), per shard where the
            option names shards, with the stream's creation time, e.g.
            ``{"run": "2f1c...", "batch": 0, "initial": {"type": "TRIM_HORIZON"}, "shards": {}, ...}``
        """
        return self.planner.initial_offset().to_json()

    def getDefaultReadLimit(self) -> ReadLimit:
        """``ReadMaxBytes`` of ``maxBytesPerTrigger`` when set, else everything available; each shard's
        read is bounded by ``maxRecordsPerShard`` as well."""
        max_bytes = self.planner.options.max_bytes_per_trigger
        return ReadAllAvailable() if max_bytes is None else ReadMaxBytes(max_bytes)

    def prepareForTriggerAvailableNow(self) -> None:
        """Under ``Trigger.AvailableNow`` the query ends once a batch reached the tip of every shard."""
        self.planner.available_now = True

    def latestOffset(self, start: dict[str, Any], limit: ReadLimit) -> dict[str, Any]:
        """The end of the next batch, which is the start of the one after it.

        Parameters
        ----------
        start : dict
            The offset the batch that just finished began at.
        limit : ReadLimit
            ``ReadMaxRows`` or ``ReadMaxBytes`` bounds the whole batch (shared by its shards);
            anything else reads all.

        Returns
        -------
        dict
            Per shard, the position after the last record the finished batch read, e.g.
            ``{"run": "2f1c...", "batch": 8, "shards": {"shardId-000000000000": {"type":
            "AFTER_SEQUENCE_NUMBER", "seq": "4962..."}}, "limit": 10000, ...}``; ``start`` itself
            when available-now has drained the stream.
        """
        max_rows = limit.max_rows if isinstance(limit, ReadMaxRows) else None
        max_bytes = limit.max_bytes if isinstance(limit, ReadMaxBytes) else None
        return self.planner.next_offset(SourceOffset.from_json(start), max_rows, max_bytes).to_json()

    def partitions(self, start: dict[str, Any], end: dict[str, Any]) -> list[KinesisPartition]:  # noqa: ARG002 - Spark's signature
        """One partition per shard of the batch that begins at ``end`` (where each shard's read starts)."""
        return [KinesisPartition(batch) for batch in self.planner.shard_batches(SourceOffset.from_json(end))]

    def read(self, partition: KinesisPartition) -> Iterator[Any]:  # type: ignore[override]
        """On an executor: the shard's records for the batch as Arrow record batches of ``SOURCE_SCHEMA``."""
        shard_batch = partition.shard_batch
        if not logging.getLogger().handlers:
            configure_logging(shard_batch.options.log_level)
        records, _ = read_shard_batch(shard_batch)
        yield from records_to_arrow(records, shard_batch.shard_id)

    def commit(self, end: dict[str, Any]) -> None:
        """Spark committed every batch up to ``end``: older position-log entries past the retention go."""
        self.planner.commit(SourceOffset.from_json(end))


class KinesisDataSource(DataSource):
    """``spark.readStream.format("kinesis")``: an AWS Kinesis Data Stream, exactly once."""

    @classmethod
    def name(cls) -> str:
        return "kinesis"

    def schema(self) -> StructType:
        return SOURCE_SCHEMA

    def streamReader(self, schema: StructType) -> KinesisStreamReader:  # noqa: ARG002 - Spark's signature
        return KinesisStreamReader(SourceOptions.from_options(dict(self.options)))
