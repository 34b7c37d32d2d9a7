"""The job's output tables: the columns and rows of each, and their creation before the first batch.

``enriched_articles`` holds the valid articles (partitioned by the ``date`` they were published),
``quarantine`` the rejected records (partitioned by the ``date`` they arrived); ``author_stats``
takes the columns of its query. The contract is docs/data-contract.md.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

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
    """Create an empty Delta table with ``frame``'s schema at ``path`` unless one exists.

    Parameters
    ----------
    frame : DataFrame
        Any frame (a streaming one too) with the table's columns; only its schema is used.
    path : str
        Where the table lives (``s3a://...`` or a local path).
    partition_by : list of str
        The table's partition columns (none for ``author_stats``).
    """
    empty = frame.sparkSession.createDataFrame([], frame.schema)
    empty.write.format("delta").mode("ignore").partitionBy(*partition_by).save(path)
