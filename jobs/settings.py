"""The job's configuration, read from the environment once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from common.settings import AwsSettings, EnvReader, SettingError

AVAILABLE_NOW = "available-now"
# The streaming queries of the job; each has its checkpoint under CHECKPOINT_LOCATION/<name>.
QUERY_NAMES = ("articles", "author_stats")


def checkpoint_location(env: EnvReader) -> str:
    """An absolute local path (a PVC in Kubernetes): pip's pyspark has no hadoop-aws for s3a://."""
    location = env.string("CHECKPOINT_LOCATION", ".state/checkpoints")
    if "://" in location and not location.startswith("file://"):
        raise SettingError(
            f"CHECKPOINT_LOCATION must be a local directory or mounted volume (a PVC in Kubernetes), got {location!r}"
        )
    return os.path.abspath(location.removeprefix("file://"))


def author_stats_trigger_interval(env: EnvReader, trigger: str) -> str:
    """``AUTHOR_STATS_TRIGGER_INTERVAL``: how often the windowed averages run (default: ``TRIGGER_INTERVAL``).

    Windows slide once a minute, so the aggregate gains little from running as often as the
    per-article output; a longer interval leaves the cores to ``enriched_articles/``.
    """
    value = env.optional_string("AUTHOR_STATS_TRIGGER_INTERVAL")
    if trigger.lower() == AVAILABLE_NOW:
        if value is not None and value.lower() != AVAILABLE_NOW:
            raise SettingError(
                f"AUTHOR_STATS_TRIGGER_INTERVAL must be unset when TRIGGER_INTERVAL is available-now "
                f"(both queries drain the stream and stop), got {value!r}"
            )
        return AVAILABLE_NOW
    if value is None:
        return trigger
    if value.lower() == AVAILABLE_NOW:
        raise SettingError("AUTHOR_STATS_TRIGGER_INTERVAL can be available-now only when TRIGGER_INTERVAL is too")
    env.duration_seconds("AUTHOR_STATS_TRIGGER_INTERVAL", value)  # validates
    return value


@dataclass(frozen=True)
class JobSettings:
    aws: AwsSettings
    stream_name: str
    bucket_name: str
    checkpoint_location: str
    spark_master_url: str | None
    app_name: str
    starting_position: str
    watermark_delay_seconds: float
    dedup_window_seconds: float
    trigger_interval: str  # a Spark duration like "5 seconds", or "available-now"
    author_stats_trigger_interval: str  # the author_stats query's trigger (same forms)
    max_records_per_shard: int
    compact_every_batches: int  # OPTIMIZE the tables every this many batches (0: never)
    shuffle_partitions: int
    log_level: str

    @property
    def output_root(self) -> str:
        return f"s3://{self.bucket_name}"

    @property
    def watermark_delay(self) -> str:
        """In Spark's form, to the millisecond (``500ms`` stays 500 milliseconds, not 0 seconds)."""
        return f"{round(self.watermark_delay_seconds * 1000)} milliseconds"

    def source_options(self, query_name: str) -> dict[str, str]:
        """Options of the Kinesis source for the query ``query_name`` (own position log each)."""
        options = {
            "streamName": self.stream_name,
            "region": self.aws.region,
            "startingPosition": self.starting_position,
            "positionLog": os.path.join(self.checkpoint_location, query_name, "kinesis-positions"),
            "maxRecordsPerShard": str(self.max_records_per_shard),
            "logLevel": self.log_level,
        }
        if self.aws.endpoint_url:
            options["endpointUrl"] = self.aws.endpoint_url
        return options

    def table_path(self, table: str) -> str:
        """Where the Delta table ``table`` (``common.contract.OUTPUTS``) lives: ``s3://<bucket>/<table>``."""
        return f"{self.output_root}/{table}"

    def query_checkpoint(self, query_name: str) -> str:
        """Spark's checkpoint of the query ``query_name`` (one of ``QUERY_NAMES``)."""
        return os.path.join(self.checkpoint_location, query_name)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> JobSettings:
        env = EnvReader(environ)
        trigger = env.string("TRIGGER_INTERVAL", "5 seconds")
        if trigger.lower() != AVAILABLE_NOW:
            env.duration_seconds("TRIGGER_INTERVAL", trigger)  # validates
        author_stats_trigger = author_stats_trigger_interval(env, trigger)
        starting = env.string("STARTING_POSITION", "TRIM_HORIZON")
        from jobs.kinesis.source import initial_position

        try:
            initial_position(starting)
        except SettingError as error:
            raise SettingError(f"STARTING_POSITION: {error}") from None
        return cls(
            aws=env.aws(),
            stream_name=env.stream_name(),
            bucket_name=env.bucket_name(),
            checkpoint_location=checkpoint_location(env),
            spark_master_url=env.optional_string("SPARK_MASTER_URL"),
            app_name=env.string("SPARK_APP_NAME", "article-pipeline"),
            starting_position=starting,
            watermark_delay_seconds=env.duration_seconds("WATERMARK_DELAY", "2 minutes"),
            dedup_window_seconds=env.duration_seconds("DEDUP_WINDOW", "10 minutes"),
            trigger_interval=AVAILABLE_NOW if trigger.lower() == AVAILABLE_NOW else trigger,
            author_stats_trigger_interval=author_stats_trigger,
            max_records_per_shard=env.integer("MAX_RECORDS_PER_SHARD", 10_000, minimum=1),
            compact_every_batches=env.integer("COMPACT_EVERY_BATCHES", 100, minimum=0),
            shuffle_partitions=env.integer("SHUFFLE_PARTITIONS", 4, minimum=1),
            log_level=env.log_level(),
        )
