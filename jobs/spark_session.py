"""The one SparkSession builder: the job, the tests and the benchmarks all start Spark here.

It adds Delta Lake and S3A (``jobs.jars``), maps ``s3://`` to S3A, points S3A at the
emulator when ``AWS_ENDPOINT_URL`` is set (path-style, plain HTTP) and otherwise at real AWS
with the default credential chain (environment, profile, IRSA web identity, instance role),
and sets the table defaults that keep the Delta tables readable outside Spark.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from common.settings import AwsSettings
from jobs.jars import jar_paths
from jobs.settings import DEFAULT_SHUFFLE_PARTITIONS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# New Delta tables: protocol (1, 2) without the features delta-rs (deltalake), polars and DuckDB
# readers reject, and classic checkpoints. (Compaction: ``ArticlesBatchWriter`` runs OPTIMIZE itself.)
# A checkpoint every 100 commits instead of 10: Delta writes it inside the commit that reaches the
# interval, so every tenth batch paid it (measured: batch p50 -0.7 s with SHUFFLE_PARTITIONS 2,
# docs/benchmarks.md "Spark and Delta settings"). Tables created before keep their interval.
DELTA_CHECKPOINT_INTERVAL = 100
DELTA_TABLE_DEFAULTS = {
    "enableDeletionVectors": "false",
    "enableRowTracking": "false",
    "enableInCommitTimestamps": "false",
    "columnMapping.mode": "none",
    "checkpointPolicy": "classic",
    "checkpointInterval": str(DELTA_CHECKPOINT_INTERVAL),
}


def class_path_options() -> dict[str, str]:
    """Delta Lake and S3A on the driver's and executors' class paths from the JVMs' start.

    Delta's session extension must load with the driver. When ``spark-submit`` starts the driver
    JVM before this code runs (a standalone cluster, Kubernetes), pass these to it as ``--conf``;
    the SparkApplication of the chart sets the same two settings.
    """
    class_path = os.pathsep.join(jar_paths())
    return {"spark.driver.extraClassPath": class_path, "spark.executor.extraClassPath": class_path}


def s3a_options(aws: AwsSettings) -> dict[str, str]:
    """Hadoop settings (without the ``spark.hadoop.`` prefix) for S3 through S3A.

    S3A's own retries are kept short (a few seconds): a longer outage fails the batch, and the
    job's supervisor (``jobs.supervisor``, deciding with ``jobs.outage``) retries it from the
    checkpoint with a log line per retry, up to ``RETRY_DEADLINE``.
    """
    options = {
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.AbstractFileSystem.s3.impl": "org.apache.hadoop.fs.s3a.S3A",
        "fs.s3a.aws.credentials.provider": "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider",
        "fs.s3a.endpoint.region": aws.region,
        # The analytics input stream of hadoop-aws 3.5 grows memory without bound in long runs (HADOOP-20058).
        "fs.s3a.input.stream.type": "classic",
        "fs.s3a.attempts.maximum": "2",
        "fs.s3a.retry.limit": "3",
        "fs.s3a.retry.interval": "500ms",
        "fs.s3a.retry.throttle.limit": "5",
        "fs.s3a.connection.establish.timeout": "5s",
    }
    endpoint = aws.endpoint_for("s3")
    if endpoint:
        options.update(
            {
                "fs.s3a.endpoint": endpoint,
                "fs.s3a.path.style.access": "true",
                "fs.s3a.connection.ssl.enabled": str(endpoint.startswith("https")).lower(),
                "fs.s3a.change.detection.version.required": "false",
            }
        )
    return options


def build_session(
    app_name: str,
    aws: AwsSettings,
    *,
    master: str | None = None,
    shuffle_partitions: int = DEFAULT_SHUFFLE_PARTITIONS,
    ui: bool = True,
    log_level: str = "WARN",
) -> SparkSession:
    """A SparkSession with Delta Lake and S3A configured for ``aws``."""
    from pyspark.sql import SparkSession

    # Python workers must run this interpreter (it has pyarrow and the project), not PATH's python3.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        # Delta rebuilds a table's state from its log with this many tasks (default 50: far too
        # many for tables that gain one commit per micro-batch).
        .config("spark.databricks.delta.snapshotPartitions", str(shuffle_partitions))
        .config("spark.sql.streaming.stateStore.stateSchemaCheck", "true")
        .config("spark.ui.enabled", str(ui).lower())
        .config("spark.ui.showConsoleProgress", "false")
    )
    for name, value in class_path_options().items():
        builder = builder.config(name, value)
    for name, value in DELTA_TABLE_DEFAULTS.items():
        builder = builder.config(f"spark.databricks.delta.properties.defaults.{name}", value)
    for name, value in s3a_options(aws).items():
        builder = builder.config(f"spark.hadoop.{name}", value)
    if master:
        builder = builder.master(master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(log_level)
    return spark
