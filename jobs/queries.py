"""The job's two streaming queries: one Kinesis read per trigger, Delta tables out.

``articles`` (the only reader of the stream): parse -> per micro-batch, ``jobs.articles_writer``
drops republished article_ids and appends the valid rows to ``enriched_articles`` and the rejected
ones to ``quarantine``, each append idempotent per batch.
``author_stats``: a Delta stream of ``enriched_articles`` -> 5-minute windows sliding every
minute with a watermark on published_at -> average word count per author, appended by the
Delta sink once the watermark passes a window's end (exactly once through its checkpoint).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.datasource import DataSource
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.streaming.query import StreamingQuery
from pyspark.sql.streaming.readwriter import DataStreamWriter

from common.contract import AUTHOR_STATS, ENRICHED_ARTICLES, QUARANTINE
from jobs.articles_writer import ArticlesBatchWriter
from jobs.job_metrics import JobMetrics
from jobs.kinesis.source import KinesisDataSource
from jobs.output_tables import enriched_rows, ensure_table, quarantine_rows
from jobs.parsing import parse_batches, parsed_arrow_schema
from jobs.settings import JobSettings, Trigger
from jobs.source_registration import query_stream

WINDOW_LENGTH = "5 minutes"
WINDOW_SLIDE = "1 minute"


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
    """Parsed rows of the stream, one per Kinesis (user) record.

    Republished ids are dropped per batch by ``ArticlesBatchWriter`` (``jobs.dedup``), so no
    watermark ever decides whether an article exists.
    """
    raw = query_stream(spark, source.data_source, "articles", source.options("articles"))
    return parse_stream(raw, settings.max_event_time_lead.as_timedelta)


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
    spark: SparkSession, settings: JobSettings, source: StreamInput | None = None, metrics: JobMetrics | None = None
) -> dict[str, Callable[[], StreamingQuery]]:
    """Create the tables if absent; return, per query name, a function that starts it from its checkpoint.

    Calling a starter again restarts its query where the checkpoint says (``jobs.supervisor``).

    Parameters
    ----------
    spark : SparkSession
        The job's session.
    settings : JobSettings
        Tables, checkpoints and triggers.
    source : StreamInput, optional
        What the ``articles`` query reads; the Kinesis stream of ``settings`` by default (the
        benchmarks pass another).
    metrics : JobMetrics, optional
        Where the articles query counts its appends and quarantine reasons (a registry of its own
        when None).

    Returns
    -------
    dict
        ``{"articles": start, "author_stats": start}``, each ``start()`` returning the started query.
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
            .foreachBatch(ArticlesBatchWriter(settings, checkpoint, metrics or JobMetrics()))
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
