"""The job's configuration, read from the environment once at start-up into typed values."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from common.aws import S3_SCHEME, s3_bucket_and_key
from common.env import Duration, SettingError, parse_duration
from common.settings import AwsSettings, PipelineEnv
from jobs.checkpoint_files import CheckpointFiles, checkpoint_files
from jobs.kinesis.consumer import consumer_name
from jobs.kinesis.starting_position import StartingPosition

# SHUFFLE_PARTITIONS' default: the state partitions of author_stats and Delta's snapshot tasks, sized
# for one 2-core executor (2 against 4 at 100 articles/s: p99 -0.4 to -0.6 s, docs/benchmarks.md).
# A checkpoint keeps the count it started with (Spark records it in the offset log).
DEFAULT_SHUFFLE_PARTITIONS = 2

AVAILABLE_NOW = "available-now"
# The streaming queries of the job; each has its checkpoint under CHECKPOINT_LOCATION/<name>.
QUERY_NAMES = ("articles", "author_stats")


@dataclass(frozen=True)
class Trigger:
    """When a streaming query runs: every ``interval``, or ``available-now`` (drain what is there, then stop)."""

    interval: Duration | None  # None: available-now

    @classmethod
    def parse(cls, name: str, value: str) -> Trigger:
        if value.strip().lower() == AVAILABLE_NOW:
            return cls(None)
        try:
            return cls(parse_duration(name, value))
        except SettingError as error:
            raise SettingError(str(error).replace(" must be ", f" must be {AVAILABLE_NOW} or ", 1)) from None

    @property
    def available_now(self) -> bool:
        return self.interval is None

    def __str__(self) -> str:
        return AVAILABLE_NOW if self.interval is None else str(self.interval)


def checkpoint_location(env: PipelineEnv) -> str:
    """``CHECKPOINT_LOCATION``: where Spark's checkpoints and the position logs live.

    A local directory (a PVC in Kubernetes; made absolute) or ``s3://bucket/prefix`` (``s3a://``
    is taken as ``s3://``), the choice for clusters without ReadWriteMany storage: executors then
    run on any node.
    """
    name = "CHECKPOINT_LOCATION"
    location = env.string(name, ".state/checkpoints")
    if location.startswith("s3a://"):
        location = S3_SCHEME + location.removeprefix("s3a://")
    if location.startswith(S3_SCHEME):
        bucket, prefix = s3_bucket_and_key(location)
        if not bucket or not prefix.strip("/"):
            raise SettingError(f"{name} on S3 needs a bucket and a prefix (s3://bucket/checkpoints), got {location!r}")
        return f"{S3_SCHEME}{bucket}/{prefix.strip('/')}"
    if "://" in location and not location.startswith("file://"):
        raise SettingError(
            f"{name} must be a local directory, a mounted volume (a PVC in Kubernetes) or s3://bucket/prefix, "
            f"got {location!r}"
        )
    return os.path.abspath(location.removeprefix("file://"))


def author_stats_trigger(env: PipelineEnv, trigger: Trigger) -> Trigger:
    """``AUTHOR_STATS_TRIGGER_INTERVAL``: how often the windowed averages run (default: ``TRIGGER_INTERVAL``).

    Windows slide once a minute, so the aggregate gains little from running as often as the
    per-article output; a longer interval leaves the cores to ``enriched_articles``.
    """
    name = "AUTHOR_STATS_TRIGGER_INTERVAL"
    value = env.optional_string(name)
    if value is None:
        return trigger
    own = Trigger.parse(name, value)
    if own.available_now != trigger.available_now:
        raise SettingError(
            f"{name} can be {AVAILABLE_NOW} exactly when TRIGGER_INTERVAL is (both queries drain the stream and "
            f"stop), got {value!r} with TRIGGER_INTERVAL {trigger}"
        )
    return own


@dataclass(frozen=True)
class JobSettings:
    aws: AwsSettings
    stream_name: str
    bucket_name: str
    checkpoint_location: str
    spark_master_url: str | None
    app_name: str
    starting_position: StartingPosition
    watermark_delay: Duration
    max_event_time_lead: Duration  # published_at further ahead of arrival is quarantined (event_time_ahead)
    dedup_window: Duration
    trigger: Trigger
    author_stats_trigger: Trigger
    max_records_per_shard: int
    max_bytes_per_trigger: int | None  # bytes a batch reads, spread over its shards (None: no byte limit)
    compact_every_batches: int  # OPTIMIZE the tables every this many batches (0: never)
    shuffle_partitions: int
    retry_deadline: Duration  # how long Kinesis or S3 may be unreachable before the job fails
    log_level: str
    consumer_name: str | None = None  # KINESIS_CONSUMER_NAME: enhanced fan-out through this consumer
    metrics_bind: str | None = None  # host:port of the driver's Prometheus endpoint (None: not served)

    @property
    def output_root(self) -> str:
        return f"s3://{self.bucket_name}"

    def source_options(self, query_name: str) -> dict[str, str]:
        """Options of the Kinesis source for the query ``query_name`` (strings: Spark's API)."""
        options = {
            "streamName": self.stream_name,
            "region": self.aws.region,
            "startingPosition": self.starting_position.option,
            "positionLog": os.path.join(self.checkpoint_location, query_name, "kinesis-positions"),
            "maxRecordsPerShard": str(self.max_records_per_shard),
            "retryDeadlineSeconds": str(self.retry_deadline.seconds),
            "logLevel": self.log_level,
        }
        if self.max_bytes_per_trigger is not None:
            options["maxBytesPerTrigger"] = str(self.max_bytes_per_trigger)
        if self.consumer_name is not None:
            options["consumerName"] = self.consumer_name
        endpoint = self.aws.endpoint_for("kinesis")
        if endpoint:
            options["endpointUrl"] = endpoint
        if self.aws.s3_endpoint_url:
            # the position log lives beside the checkpoints: on an S3-compatible store, not Kinesis' endpoint
            options["s3EndpointUrl"] = self.aws.s3_endpoint_url
        role = self.aws.kinesis_role
        if role is not None:
            # The executors build their Kinesis clients from these options, not from their environment.
            options.update(roleArn=role.arn, roleSessionName=role.session_name)
            if role.external_id is not None:
                options["roleExternalId"] = role.external_id
            sts_endpoint = self.aws.endpoint_for("sts")
            if sts_endpoint:
                options["stsEndpointUrl"] = sts_endpoint
        return options

    def table_path(self, table: str) -> str:
        """Where the Delta table ``table`` (``common.contract.OUTPUTS``) lives: ``s3://<bucket>/<table>``."""
        return f"{self.output_root}/{table}"

    def checkpoint_files(self) -> CheckpointFiles:
        """Reads and writes of small files in the checkpoints (local or S3)."""
        return checkpoint_files(self.checkpoint_location, self.aws)

    def query_checkpoint(self, query_name: str) -> str:
        """Spark's checkpoint of the query ``query_name`` (one of ``QUERY_NAMES``)."""
        return os.path.join(self.checkpoint_location, query_name)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> JobSettings:
        return cls.read(PipelineEnv(environ))

    @classmethod
    def read(cls, env: PipelineEnv) -> JobSettings:
        trigger = Trigger.parse("TRIGGER_INTERVAL", env.string("TRIGGER_INTERVAL", "5 seconds"))
        return cls(
            aws=env.aws("job"),
            stream_name=env.stream_name(),
            bucket_name=env.bucket_name(),
            checkpoint_location=checkpoint_location(env),
            spark_master_url=env.optional_string("SPARK_MASTER_URL"),
            app_name=env.string("SPARK_APP_NAME", "article-pipeline"),
            starting_position=StartingPosition.parse(
                "STARTING_POSITION", env.string("STARTING_POSITION", "TRIM_HORIZON")
            ),
            watermark_delay=env.duration("WATERMARK_DELAY", "2 minutes"),
            max_event_time_lead=env.max_event_time_lead(),
            dedup_window=env.duration("DEDUP_WINDOW", "10 minutes", minimum=Duration(1000)),
            trigger=trigger,
            author_stats_trigger=author_stats_trigger(env, trigger),
            max_records_per_shard=env.integer("MAX_RECORDS_PER_SHARD", 10_000, minimum=1),
            max_bytes_per_trigger=env.byte_size("MAX_BYTES_PER_TRIGGER"),
            compact_every_batches=env.integer("COMPACT_EVERY_BATCHES", 100, minimum=0),
            shuffle_partitions=env.integer("SHUFFLE_PARTITIONS", DEFAULT_SHUFFLE_PARTITIONS, minimum=1),
            retry_deadline=env.duration("RETRY_DEADLINE", "5 minutes", minimum=Duration(1000)),
            log_level=env.log_level(),
            consumer_name=consumer_name("KINESIS_CONSUMER_NAME", env.optional_string("KINESIS_CONSUMER_NAME")),
            metrics_bind=env.bind("JOB_METRICS_BIND", "") if env.optional_string("JOB_METRICS_BIND") else None,
        )
