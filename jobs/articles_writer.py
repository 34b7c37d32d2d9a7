"""The ``articles`` query's ``foreachBatch``: republished articles dropped, both tables appended once per batch.

Per micro-batch: valid rows whose article_id was kept within ``DEDUP_WINDOW`` of their arrival are
dropped (``jobs.dedup`` decides, never a watermark; this module hands it the batch's rows and a
lookup into ``enriched_articles``), the rest appended to ``enriched_articles`` and the rejected
rows to ``quarantine``. Each append is idempotent per batch (Delta's ``txnAppId``/``txnVersion``),
so a replayed batch is skipped by Delta itself. Then the tables' upkeep (``jobs.table_upkeep``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from common.contract import ENRICHED_ARTICLES, QUARANTINE
from common.logs import log_event
from jobs.checkpoint_files import checkpoint_query_id
from jobs.dedup import Copy, KeptCopies, TableLookup
from jobs.job_metrics import JobMetrics
from jobs.output_tables import ENRICHED_COLUMNS, enriched_rows, quarantine_rows
from jobs.settings import JobSettings
from jobs.table_upkeep import VACUUM_EVERY_COMPACTIONS, compact_tables

# What deduplication needs of a row (jobs.dedup.Copy).
COPY_COLUMNS = ["article_id", "arrival_time", "shard_id", "sequence_number"]
logger = logging.getLogger("jobs.articles_writer")


@dataclass
class ArticlesBatchWriter:
    """``foreachBatch`` of the articles query: both tables appended once per batch id.

    Parameters
    ----------
    settings : JobSettings
        Where the tables are, ``DEDUP_WINDOW`` and ``COMPACT_EVERY_BATCHES``.
    checkpoint_dir : str
        The query's checkpoint: its id names the Delta transactions (``append``).
    metrics : JobMetrics
        Counts rows appended per table, append times, quarantine reasons and duplicates dropped.
    vacuum_every_compactions : int
        VACUUM the tables after every this many compactions (``jobs.table_upkeep``).
    """

    settings: JobSettings
    checkpoint_dir: str
    metrics: JobMetrics = field(default_factory=JobMetrics)
    vacuum_every_compactions: int = VACUUM_EVERY_COMPACTIONS
    kept: KeptCopies = field(init=False)
    app_id: str | None = field(init=False, default=None)  # read from the checkpoint once, at the first append

    def __post_init__(self) -> None:
        self.kept = KeptCopies(horizon_us=self.settings.dedup_window.milliseconds * 1000)

    def append(self, rows: DataFrame, table: str, batch_id: int) -> float:
        """Append ``rows`` to ``table`` once per batch id; returns the write's milliseconds (compute + commit)."""
        started = time.monotonic()
        # txnAppId is tied to this checkpoint: a replayed batch (same id) is skipped by Delta,
        # and a new checkpoint (batch ids from 0 again) gets a new id, so nothing is skipped wrongly.
        if self.app_id is None:
            query_id = checkpoint_query_id(self.settings.checkpoint_files(), self.checkpoint_dir)
            self.app_id = f"article-pipeline-articles-{query_id}"
        rows.write.format("delta").mode("append").option("txnAppId", self.app_id).option("txnVersion", batch_id).option(
            "mergeSchema", "true"
        ).partitionBy("date").save(self.settings.table_path(table))
        return _ms_since(started)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        """Write micro-batch ``batch_id``: duplicates dropped, a table with no rows gets no commit.

        One pass computes and caches the batch, then the tables' upkeep runs (``compact_tables``).
        """
        stamped = batch.withColumn("processed_at", F.current_timestamp()).persist()
        try:
            import pyarrow.compute as pc

            started = time.monotonic()
            # The first pass: reads the Kinesis records, parses them and caches the batch.
            rows = stamped.select(*COPY_COLUMNS, "error_reason").toArrow()
            read_ms = _ms_since(started)
            rejected = pc.is_valid(rows.column("error_reason"))
            quarantined = int(pc.sum(rejected).as_py() or 0)
            started = time.monotonic()
            decision = self.kept.decide(copies_of(rows.filter(pc.invert(rejected))), self._table_lookup(stamped))
            dedup_ms = _ms_since(started)
            enriched = rows.num_rows - quarantined - len(decision.dropped)
            write_ms = {}
            if enriched:
                valid = without_copies(enriched_rows(stamped), decision.dropped)
                write_ms[ENRICHED_ARTICLES] = self.append(valid, ENRICHED_ARTICLES, batch_id)
            if quarantined:
                write_ms[QUARANTINE] = self.append(quarantine_rows(stamped), QUARANTINE, batch_id)
            reasons = pc.value_counts(rows.column("error_reason").filter(rejected)).to_pylist()
            self.metrics.articles_written(
                appended={ENRICHED_ARTICLES: enriched, QUARANTINE: quarantined},
                append_ms=write_ms,
                quarantined_by_reason={item["values"]: item["counts"] for item in reasons},
                duplicates_dropped=len(decision.dropped),
            )
            log_event(
                logger,
                "articles_batch_written",
                batch=batch_id,
                enriched=enriched,
                quarantined=quarantined,
                duplicates_dropped=len(decision.dropped),
                dedup_table_lookups=decision.table_lookups,
                dedup_cached_copies=len(self.kept),
                read_ms=read_ms,
                dedup_ms=dedup_ms,
                write_ms=write_ms,
            )
        finally:
            stamped.unpersist()
        compact_tables(batch.sparkSession, self.settings, batch_id, self.vacuum_every_compactions)

    def _table_lookup(self, frame: DataFrame) -> TableLookup:
        return kept_copies_in_table(frame.sparkSession, self.settings.table_path(ENRICHED_ARTICLES))


def _ms_since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


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
