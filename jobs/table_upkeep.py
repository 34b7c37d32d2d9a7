"""Upkeep of the job's Delta tables: OPTIMIZE every ``COMPACT_EVERY_BATCHES`` batches, VACUUM now and then.

The job is the only writer, so compaction in its driver never races a write (Delta's S3 log store
is safe for one driver). OPTIMIZE commits carry ``dataChange=false``, so Delta streams
(``author_stats``) see each row once. VACUUM deletes the files compaction replaced once they are
older than the table's ``delta.deletedFileRetentionDuration`` (Delta's default, 7 days): far longer
than ``author_stats`` or any downstream Delta stream lags, so no reader loses a file.
"""

from __future__ import annotations

import logging

from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession

from common.contract import AUTHOR_STATS, ENRICHED_ARTICLES, QUARANTINE
from common.logs import log_event
from jobs.settings import JobSettings

# VACUUM every this many compactions (every 1,000 batches by default): replaced files wait 7 days anyway.
VACUUM_EVERY_COMPACTIONS = 10
logger = logging.getLogger("jobs.table_upkeep")


def vacuum_table(spark: SparkSession, path: str) -> None:
    """VACUUM the Delta table at ``path``.

    VACUUM LITE deletes the files the log says were removed, without listing the table; when the
    log does not reach back to the last VACUUM (``DELTA_CANNOT_VACUUM_LITE``), a full VACUUM runs.
    """
    try:
        spark.sql(f"VACUUM delta.`{path}` LITE").collect()
    except Exception as error:
        if "DELTA_CANNOT_VACUUM_LITE" not in str(error):
            raise
        spark.sql(f"VACUUM delta.`{path}`").collect()


def compact_tables(
    spark: SparkSession, settings: JobSettings, batch_id: int, vacuum_every_compactions: int = VACUUM_EVERY_COMPACTIONS
) -> None:
    """OPTIMIZE the three tables every ``COMPACT_EVERY_BATCHES`` batches, VACUUM every few compactions.

    Parameters
    ----------
    spark : SparkSession
        The job's session (this runs in the driver, between batches).
    settings : JobSettings
        Where the tables are and ``compact_every_batches`` (0: never).
    batch_id : int
        The batch just written; batch 0 never compacts.
    vacuum_every_compactions : int
        VACUUM after every this many compactions.
    """
    every = settings.compact_every_batches
    if not every or batch_id == 0 or batch_id % every:
        return
    vacuum = (batch_id // every) % vacuum_every_compactions == 0
    for table in (ENRICHED_ARTICLES, QUARANTINE, AUTHOR_STATS):
        path = settings.table_path(table)
        try:
            metrics = spark.sql(f"OPTIMIZE delta.`{path}`").first()
            if vacuum:
                vacuum_table(spark, path)
        except AnalysisException as error:
            if error.getCondition() != "DELTA_MISSING_DELTA_TABLE":
                raise
            continue  # no rows written to this table yet
        log_event(logger, "table_compacted", table=table, batch=batch_id, vacuumed=vacuum, metrics=str(metrics)[:300])
