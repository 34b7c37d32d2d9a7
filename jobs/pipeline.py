"""The job's two streaming queries: one Kinesis read per trigger, Delta tables out.

``articles`` (the only reader of the stream): parse -> per micro-batch, republished article_ids
dropped (``jobs.dedup``: by arrival time within DEDUP_WINDOW, never by a watermark), valid rows appended to the ``enriched_articles`` table
(partitioned by date) and rejected rows to ``quarantine``, each append idempotent per batch
(Delta's ``txnAppId``/``txnVersion``, so a replayed batch is skipped by Delta itself).
``author_stats``: a Delta stream of ``enriched_articles`` -> 5-minute windows sliding every
minute with a watermark on published_at -> average word count per author, appended by the
Delta sink once the watermark passes a window's end (exactly once through its checkpoint).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.datasource import DataSource
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.streaming.query import StreamingQuery
from pyspark.sql.streaming.readwriter import DataStreamWriter

from common.contract import AUTHOR_STATS, ENRICHED_ARTICLES, QUARANTINE
from common.logs import log_event
from jobs.dedup import Copy, KeptCopies, TableLookup
from jobs.kinesis.source import KinesisDataSource
from jobs.parsing import parse_batches, parsed_arrow_schema
from jobs.settings import JobSettings, Trigger

WINDOW_LENGTH = "5 minutes"
WINDOW_SLIDE = "1 minute"
ENRICHED_COLUMNS = [
    "article_id",
    "author",
    "title",
    "category",
    "published_at",
    "word_count",
    "shard_id",
    "sequence_number",
    "arrival_time",
    "processed_at",
    "date",
]
# What deduplication needs of a row (jobs.dedup.Copy).
COPY_COLUMNS = ["article_id", "arrival_time", "shard_id", "sequence_number"]
QUARANTINE_COLUMNS = [
    "raw_payload",
    "payload_encoding",
    "error_reason",
    "error_detail",
    "shard_id",
    "sequence_number",
    "sub_sequence_number",
    "arrival_time",
    "processed_at",
    "date",
]
logger = logging.getLogger("jobs.pipeline")


def query_stream(
    spark: SparkSession, source: type[DataSource], query_name: str, options: Mapping[str, str]
) -> DataFrame:
    """``spark.readStream`` of ``source`` through a registration of its own for ``query_name``.

    Everything Spark 4.3 creates from one registered Python data source shares one Java map of
    environment variables, and each streaming query's source runner writes to it, unsynchronized,
    when the query starts (``PythonStreamingSourceRunner.init``). Two queries starting together
    on one registration corrupted that map now and then, and every task carrying it failed to
    deserialize (``java.io.OptionalDataException`` in ``HashMap.readObject``). A subclass
    registered per query gives each query its own map.
    """
    format_name = f"{source.name()}_{query_name}"
    per_query = type(f"{source.__name__}_{query_name}", (source,), {"name": classmethod(lambda _cls: format_name)})
    spark.dataSource.register(per_query)
    return spark.readStream.format(format_name).options(**options).load()


def parse_stream(raw: DataFrame, max_event_time_lead: timedelta) -> DataFrame:
    """Source rows parsed into articles or rejections, one row per Kinesis (user) record."""
    parse = functools.partial(parse_batches, max_event_time_lead=max_event_time_lead)
    return raw.mapInArrow(parse, from_arrow_schema(parsed_arrow_schema()))


@dataclass(frozen=True)
class StreamInput:
    """What the queries read: a Python data source and its options for a query (by the query's name)."""

    data_source: type[DataSource]
    options: Callable[[str], Mapping[str, str]]


def kinesis_input(settings: JobSettings) -> StreamInput:
    """The job's input: the Kinesis stream of ``settings``, one position log per query."""
    return StreamInput(KinesisDataSource, settings.source_options)


def articles_query(spark: SparkSession, settings: JobSettings, source: StreamInput) -> DataFrame:
    """Parsed rows of the stream, one per Kinesis (user) record; republished ids are dropped per batch
    (``ArticlesBatchWriter``, ``jobs.dedup``), so no watermark ever decides whether an article exists."""
    raw = query_stream(spark, source.data_source, "articles", source.options("articles"))
    return parse_stream(raw, settings.max_event_time_lead.as_timedelta)


def enriched_rows(parsed: DataFrame) -> DataFrame:
    """The ``enriched_articles`` columns of the valid rows (``processed_at`` already stamped)."""
    return (
        parsed.where(F.col("error_reason").isNull())
        .withColumn("date", F.date_format("published_at", "yyyy-MM-dd"))
        .select(*ENRICHED_COLUMNS)
    )


def quarantine_rows(parsed: DataFrame) -> DataFrame:
    """The ``quarantine`` columns of the rejected rows, dated by arrival."""
    return (
        parsed.where(F.col("error_reason").isNotNull())
        .withColumn("date", F.date_format("arrival_time", "yyyy-MM-dd"))
        .select(*QUARANTINE_COLUMNS)
    )


def ensure_table(frame: DataFrame, path: str, partition_by: list[str]) -> None:
    """Create an empty Delta table with ``frame``'s schema at ``path`` unless one exists."""
    empty = frame.sparkSession.createDataFrame([], frame.schema)
    empty.write.format("delta").mode("ignore").partitionBy(*partition_by).save(path)


def vacuum_table(spark: SparkSession, path: str) -> None:
    """VACUUM LITE (the files the log says were removed; no listing of the table), or a full VACUUM
    when the log no longer reaches back to the last one."""
    try:
        spark.sql(f"VACUUM delta.`{path}` LITE").collect()
    except Exception as error:
        if "DELTA_CANNOT_VACUUM_LITE" not in str(error):
            raise
        spark.sql(f"VACUUM delta.`{path}`").collect()


def checkpoint_query_id(checkpoint_dir: str) -> str:
    """The id Spark keeps in ``<checkpoint>/metadata``: stable across restarts, new with a new checkpoint."""
    with open(os.path.join(checkpoint_dir, "metadata"), encoding="utf-8") as handle:
        return str(json.loads(handle.readline())["id"])


@dataclass
class ArticlesBatchWriter:
    """``foreachBatch`` of the articles query: both tables appended once per batch id."""

    settings: JobSettings
    checkpoint_dir: str
    # VACUUM every this many compactions (every 1,000 batches by default): replaced files wait 7 days anyway.
    vacuum_every_compactions: int = 10
    kept: KeptCopies = field(init=False)

    def __post_init__(self) -> None:
        self.kept = KeptCopies(horizon_us=self.settings.dedup_window.milliseconds * 1000)

    def compact(self, spark: SparkSession, batch_id: int) -> None:
        """OPTIMIZE the three tables every ``COMPACT_EVERY_BATCHES`` batches, in this driver; VACUUM every
        ``vacuum_every_compactions``-th time.

        The job is the only writer, so compaction never races it (Delta's S3 log store is safe for
        one driver); OPTIMIZE commits carry ``dataChange=false``, so Delta streams (author_stats)
        see each row once. VACUUM deletes the files compaction replaced once they are older than
        the table's ``delta.deletedFileRetentionDuration`` (Delta's default, 7 days): far longer
        than ``author_stats`` or any downstream Delta stream lags, so no reader loses a file.
        """
        every = self.settings.compact_every_batches
        if not every or batch_id == 0 or batch_id % every:
            return
        vacuum = (batch_id // every) % self.vacuum_every_compactions == 0
        from pyspark.errors import AnalysisException

        for table in (ENRICHED_ARTICLES, QUARANTINE, AUTHOR_STATS):
            path = self.settings.table_path(table)
            try:
                metrics = spark.sql(f"OPTIMIZE delta.`{path}`").first()
                if vacuum:
                    vacuum_table(spark, path)
            except AnalysisException as error:
                if error.getCondition() != "DELTA_MISSING_DELTA_TABLE":
                    raise
                continue  # no rows written to this table yet
            log_event(
                logger, "table_compacted", table=table, batch=batch_id, vacuumed=vacuum, metrics=str(metrics)[:300]
            )

    def append(self, rows: DataFrame, table: str, batch_id: int) -> float:
        """Append ``rows`` to ``table`` once per batch id; returns the write's milliseconds (compute + commit)."""
        started = time.monotonic()
        # txnAppId is tied to this checkpoint: a replayed batch (same id) is skipped by Delta,
        # and a new checkpoint (batch ids from 0 again) gets a new id, so nothing is skipped wrongly.
        app_id = f"article-pipeline-articles-{checkpoint_query_id(self.checkpoint_dir)}"
        rows.write.format("delta").mode("append").option("txnAppId", app_id).option("txnVersion", batch_id).option(
            "mergeSchema", "true"
        ).partitionBy("date").save(self.settings.table_path(table))
        return round((time.monotonic() - started) * 1000, 1)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        """One pass computes and caches the batch; duplicates are dropped; a table with no rows gets no commit."""
        stamped = batch.withColumn("processed_at", F.current_timestamp()).persist()
        try:
            import pyarrow.compute as pc

            rows = stamped.select(*COPY_COLUMNS, "error_reason").toArrow()
            rejected = pc.is_valid(rows.column("error_reason"))
            quarantined = int(pc.sum(rejected).as_py() or 0)
            decision = self.kept.decide(copies_of(rows.filter(pc.invert(rejected))), self._table_lookup(stamped))
            enriched = rows.num_rows - quarantined - len(decision.dropped)
            write_ms = {}
            if enriched:
                valid = without_copies(enriched_rows(stamped), decision.dropped)
                write_ms[ENRICHED_ARTICLES] = self.append(valid, ENRICHED_ARTICLES, batch_id)
            if quarantined:
                write_ms[QUARANTINE] = self.append(quarantine_rows(stamped), QUARANTINE, batch_id)
            log_event(
                logger,
                "articles_batch_written",
                batch=batch_id,
                enriched=enriched,
                quarantined=quarantined,
                duplicates_dropped=len(decision.dropped),
                dedup_table_lookups=decision.table_lookups,
                dedup_cached_copies=len(self.kept),
                write_ms=write_ms,
            )
        finally:
            stamped.unpersist()
        self.compact(batch.sparkSession, batch_id)

    def _table_lookup(self, frame: DataFrame) -> TableLookup:
        return kept_copies_in_table(frame.sparkSession, self.settings.table_path(ENRICHED_ARTICLES))


def copies_of(rows: Any) -> list[Copy]:
    """``Copy`` per row of an Arrow table with ``COPY_COLUMNS`` (arrival as microseconds)."""
    import pyarrow as pa

    arrivals = rows.column("arrival_time").cast(pa.int64()).to_pylist()
    return [
        Copy(arrival, shard, sequence, article_id)
        for article_id, arrival, shard, sequence in zip(
            rows.column("article_id").to_pylist(),
            arrivals,
            rows.column("shard_id").to_pylist(),
            rows.column("sequence_number").to_pylist(),
            strict=True,
        )
    ]


def kept_copies_in_table(spark: SparkSession, path: str) -> TableLookup:
    """``TableLookup`` over the Delta table at ``path``: its rows by arrival range (Delta skips files by stats)."""

    def lookup(from_us: int, until_us: int | None, article_ids: Sequence[str]) -> list[Copy]:
        from pyspark.errors import AnalysisException

        try:
            table = spark.read.format("delta").load(path)
        except AnalysisException as error:
            if error.getCondition() not in ("PATH_NOT_FOUND", "DELTA_MISSING_DELTA_TABLE"):
                raise
            return []  # no rows written yet: nothing kept
        rows = table.where(F.col("arrival_time") >= F.timestamp_micros(F.lit(from_us)))
        if until_us is not None:
            rows = rows.where(F.col("arrival_time") < F.timestamp_micros(F.lit(until_us)))
        if article_ids:
            wanted = spark.createDataFrame([(article_id,) for article_id in article_ids], "article_id string")
            rows = rows.join(F.broadcast(wanted), "article_id", "left_semi")
        return copies_of(rows.select(*COPY_COLUMNS).toArrow())

    return lookup


def without_copies(rows: DataFrame, dropped: list[Copy]) -> DataFrame:
    """``rows`` minus the records of ``dropped`` (matched on shard, sequence number and article_id)."""
    if not dropped:
        return rows
    keys = rows.sparkSession.createDataFrame(
        [(copy.shard_id, copy.sequence_number, copy.article_id) for copy in dropped],
        "shard_id string, sequence_number string, article_id string",
    )
    return rows.join(F.broadcast(keys), ["shard_id", "sequence_number", "article_id"], "left_anti").select(
        *ENRICHED_COLUMNS
    )


def author_stats_query(spark: SparkSession, settings: JobSettings) -> DataFrame:
    """Average word count per author over sliding windows of the enriched table, final once the watermark passes."""
    articles = (
        spark.readStream.format("delta")
        .option("withEventTimeOrder", "true")
        .option("maxFilesPerTrigger", "1000")
        .load(settings.table_path(ENRICHED_ARTICLES))
    )
    deduplicated = articles.withWatermark("published_at", settings.watermark_delay.spark).dropDuplicatesWithinWatermark(
        ["article_id"]
    )
    return (
        deduplicated.groupBy(F.window("published_at", WINDOW_LENGTH, WINDOW_SLIDE).alias("window"), "author")
        .agg(F.avg("word_count").alias("avg_word_count"), F.count("*").alias("article_count"))
        .select(
            F.col("window.start").alias("window_start"),
            F.col("window.end").alias("window_end"),
            "author",
            "avg_word_count",
            "article_count",
        )
    )


def _trigger(stream: DataStreamWriter, trigger: Trigger) -> DataStreamWriter:
    if trigger.interval is None:
        return stream.trigger(availableNow=True)
    return stream.trigger(processingTime=trigger.interval.spark)


def query_starters(
    spark: SparkSession, settings: JobSettings, source: StreamInput | None = None
) -> dict[str, Callable[[], StreamingQuery]]:
    """Create the tables if absent; return, per query name, a function that starts it from its checkpoint.

    Calling a starter again restarts its query where the checkpoint says (``jobs.outage``).
    ``source`` defaults to the Kinesis stream of ``settings`` (the benchmarks pass another).
    """
    source = source or kinesis_input(settings)
    articles = articles_query(spark, settings, source)
    stamped = articles.withColumn("processed_at", F.current_timestamp())
    ensure_table(enriched_rows(stamped), settings.table_path(ENRICHED_ARTICLES), ["date"])
    ensure_table(quarantine_rows(stamped), settings.table_path(QUARANTINE), ["date"])
    stats = author_stats_query(spark, settings)
    ensure_table(stats, settings.table_path(AUTHOR_STATS), [])

    def start_articles() -> StreamingQuery:
        checkpoint = settings.query_checkpoint("articles")
        stream = (
            articles.writeStream.queryName("articles")
            .outputMode("append")
            .foreachBatch(ArticlesBatchWriter(settings, checkpoint))
            .option("checkpointLocation", checkpoint)
        )
        return _trigger(stream, settings.trigger).start()

    def start_author_stats() -> StreamingQuery:
        stream = (
            stats.writeStream.queryName("author_stats")
            .format("delta")
            .outputMode("append")
            .option("checkpointLocation", settings.query_checkpoint("author_stats"))
        )
        return _trigger(stream, settings.author_stats_trigger).start(settings.table_path(AUTHOR_STATS))

    return {"articles": start_articles, "author_stats": start_author_stats}


def start_queries(
    spark: SparkSession, settings: JobSettings, source: StreamInput | None = None
) -> list[StreamingQuery]:
    """Start both queries (``query_starters``) once."""
    return [start() for start in query_starters(spark, settings, source).values()]
