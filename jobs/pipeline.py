"""The two streaming queries of the job, built from the Kinesis source.

``articles``: parse -> drop republished article_ids (within DEDUP_WINDOW) -> per batch, valid
rows to ``enriched_articles/`` (partitioned by date) and rejected rows to ``quarantine/``.
``author_stats``: parse -> valid rows -> dedup -> 5-minute windows sliding every minute ->
average word count per author, appended to ``author_stats/`` once the watermark passes a
window's end.

The two queries read the stream independently (each has its own checkpoint and position
log), so each trigger costs two GetRecords calls per shard; Kinesis allows five per second.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.datasource import DataSource
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.streaming.query import StreamingQuery

from common.contract import AUTHOR_STATS, ENRICHED_ARTICLES, QUARANTINE
from common.logs import log_event
from jobs.kinesis.source import KinesisDataSource
from jobs.parsing import parse_batches, parsed_arrow_schema
from jobs.s3_sink import S3ParquetDataSource
from jobs.settings import AVAILABLE_NOW, JobSettings

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
logger = logging.getLogger("jobs.pipeline")
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


def register_data_sources(spark: SparkSession) -> None:
    spark.dataSource.register(KinesisDataSource)
    spark.dataSource.register(S3ParquetDataSource)


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


def parse_stream(raw: DataFrame) -> DataFrame:
    """Source rows parsed into articles or rejections, one row per Kinesis (user) record."""
    return raw.mapInArrow(parse_batches, from_arrow_schema(parsed_arrow_schema()))


@dataclass(frozen=True)
class StreamInput:
    """What the queries read: a Python data source and its options for a query (by the query's name)."""

    data_source: type[DataSource]
    options: Callable[[str], Mapping[str, str]]


def kinesis_input(settings: JobSettings) -> StreamInput:
    """The job's input: the Kinesis stream of ``settings``, one position log per query."""
    return StreamInput(KinesisDataSource, settings.source_options)


def parsed_stream(spark: SparkSession, source: StreamInput, query_name: str) -> DataFrame:
    return parse_stream(query_stream(spark, source.data_source, query_name, source.options(query_name)))


def _write(batch: DataFrame, settings: JobSettings, prefix: str, batch_id: int, partition_column: str | None) -> None:
    # One task per batch (the rows are cached, so no shuffle): one object per (batch, date), or
    # per batch when unpartitioned, since the writer splits a task's rows by date itself.
    batch.coalesce(1).write.format("s3parquet").options(
        **settings.sink_options(prefix, batch_id, partition_column)
    ).mode("append").save()


def articles_query(spark: SparkSession, settings: JobSettings, source: StreamInput) -> DataFrame:
    """Enriched and quarantined rows, republished article_ids dropped.

    Duplicates come from producer retries, which land seconds apart, so deduplication keys on
    Kinesis arrival time with a ``DEDUP_WINDOW`` watermark, not on published_at: an article
    published long ago but arriving now is never treated as late and dropped. Rejected rows get
    a unique key (shard, sequence) so every one of them reaches quarantine/.
    """
    parsed = parsed_stream(spark, source, "articles")
    keyed = parsed.withColumn(
        "dedup_key",
        F.coalesce(
            F.col("article_id"),
            F.concat_ws(
                ":",
                F.lit("rejected"),
                "shard_id",
                "sequence_number",
                F.coalesce(F.col("sub_sequence_number").cast("string"), F.lit("")),
            ),
        ),
    )
    return keyed.withWatermark(
        "arrival_time", f"{int(settings.dedup_window_seconds)} seconds"
    ).dropDuplicatesWithinWatermark(["dedup_key"])


def write_articles_batch(settings: JobSettings) -> Callable[[DataFrame, int], None]:
    return functools.partial(_write_articles, settings=settings)


def _write_articles(batch: DataFrame, batch_id: int, settings: JobSettings) -> None:
    """Valid rows to enriched_articles/, rejected rows to quarantine/, one log line with both counts.

    Counting first computes and caches the batch; an output with no rows in this batch gets no
    object and no manifest (an idle stream writes nothing).
    """
    stamped = batch.withColumn("processed_at", F.current_timestamp()).persist()
    try:
        enriched = (
            stamped.where(F.col("error_reason").isNull())
            .withColumn("date", F.date_format("published_at", "yyyy-MM-dd"))
            .select(*ENRICHED_COLUMNS)
        )
        rejected = (
            stamped.where(F.col("error_reason").isNotNull())
            .withColumn("date", F.date_format("arrival_time", "yyyy-MM-dd"))
            .select(*QUARANTINE_COLUMNS)
        )
        counts = {
            row["rejected"]: row["count"]
            for row in stamped.groupBy(F.col("error_reason").isNotNull().alias("rejected")).count().collect()
        }
        if counts.get(False):
            _write(enriched, settings, ENRICHED_ARTICLES, batch_id, "date")
        if counts.get(True):
            _write(rejected, settings, QUARANTINE, batch_id, "date")
        log_event(
            logger,
            "articles_batch_written",
            batch=batch_id,
            enriched=counts.get(False, 0),
            quarantined=counts.get(True, 0),
        )
    finally:
        stamped.unpersist()


def author_stats_query(spark: SparkSession, settings: JobSettings, source: StreamInput) -> DataFrame:
    """Average word count per author over sliding windows, final once the watermark passes."""
    articles = parsed_stream(spark, source, "author_stats").where(F.col("error_reason").isNull())
    deduplicated = articles.withWatermark("published_at", settings.watermark_delay).dropDuplicatesWithinWatermark(
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


def write_author_stats_batch(settings: JobSettings) -> Callable[[DataFrame, int], None]:
    def write(batch: DataFrame, batch_id: int) -> None:
        # Most batches close no window: count (which computes and caches the batch) before writing.
        windows = batch.persist()
        try:
            if windows.count():
                _write(windows, settings, AUTHOR_STATS, batch_id, None)
        finally:
            windows.unpersist()

    return write


def start_queries(
    spark: SparkSession, settings: JobSettings, source: StreamInput | None = None
) -> list[StreamingQuery]:
    """Start both queries with their own checkpoints under ``CHECKPOINT_LOCATION``.

    ``source`` defaults to the Kinesis stream of ``settings`` (the benchmarks pass another).
    """
    register_data_sources(spark)
    source = source or kinesis_input(settings)
    plans = [
        (
            "articles",
            articles_query(spark, settings, source),
            write_articles_batch(settings),
            settings.trigger_interval,
        ),
        (
            "author_stats",
            author_stats_query(spark, settings, source),
            write_author_stats_batch(settings),
            settings.author_stats_trigger_interval,
        ),
    ]
    queries = []
    for name, frame, writer, trigger in plans:
        stream = (
            frame.writeStream.queryName(name)
            .outputMode("append")
            .foreachBatch(writer)
            .option("checkpointLocation", f"{settings.checkpoint_location.rstrip('/')}/{name}")
        )
        if trigger == AVAILABLE_NOW:
            stream = stream.trigger(availableNow=True)
        else:
            stream = stream.trigger(processingTime=trigger)
        queries.append(stream.start())
    return queries
