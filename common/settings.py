"""The pipeline's own settings, read once at start-up: AWS location, stream, bucket, log level, clock skew.

Every process reads its configuration through ``PipelineEnv`` (``common.env.EnvReader`` plus the
checks shared by the publisher, the job and the ops tools), so a bad value fails fast with
``SettingError`` instead of surfacing later as an obscure boto3 or Spark error.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from common.env import Duration, EnvReader, SettingError

# Regions follow the AWS naming scheme (us-east-1, eu-central-2, us-gov-west-1, cn-north-1).
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
# S3 bucket naming rules (lower case, 3-63 chars, no leading/trailing dot or dash).
_BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_STREAM_PATTERN = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class AwsSettings:
    """Where the AWS APIs live: real AWS when ``endpoint_url`` is None, else an emulator."""

    region: str
    endpoint_url: str | None
    s3_endpoint_url: str | None = None  # AWS_ENDPOINT_URL_S3: S3 elsewhere than the other services

    def endpoint_for(self, service: str) -> str | None:
        """The endpoint of ``service`` ('kinesis', 's3'): the service's own override, else the common one."""
        return self.s3_endpoint_url if service == "s3" and self.s3_endpoint_url else self.endpoint_url


class PipelineEnv(EnvReader):
    """``EnvReader`` with the settings every process of the pipeline shares."""

    def max_event_time_lead(self) -> Duration:
        """``MAX_EVENT_TIME_LEAD``: how far ``published_at`` may run ahead of arrival (default ``WATERMARK_DELAY``).

        With the lead at most the watermark delay, the newest event time minus the delay stays at or
        before the newest arrival: an article from a fast clock cannot make on-time articles late.
        """
        one_day = Duration(86_400_000)
        if self.optional_string("MAX_EVENT_TIME_LEAD") is None:
            return min(self.duration("WATERMARK_DELAY", "2 minutes"), one_day)
        lead = self.duration("MAX_EVENT_TIME_LEAD", "2 minutes")
        if lead > one_day:
            raise SettingError(f"MAX_EVENT_TIME_LEAD must be at most 1 day, got {lead}")
        return lead

    def log_level(self) -> str:
        """``LOG_LEVEL``: DEBUG, INFO (default), WARNING or ERROR, any case."""
        level = self.string("LOG_LEVEL", "INFO").upper()
        if level not in LOG_LEVELS:
            raise SettingError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level.lower()!r}")
        return level

    def aws(self) -> AwsSettings:
        source = "AWS_REGION" if self.raw("AWS_REGION") is not None else "AWS_DEFAULT_REGION"
        region = self.string(source, "us-east-1")
        if not _REGION_PATTERN.match(region) or region not in known_regions():
            raise SettingError(f"{source} must be a known AWS region like us-east-1 or eu-west-1, got {region!r}")
        return AwsSettings(
            region=region,
            endpoint_url=self.endpoint_url("AWS_ENDPOINT_URL"),
            s3_endpoint_url=self.endpoint_url("AWS_ENDPOINT_URL_S3"),
        )

    def stream_name(self) -> str:
        name = self.string("KINESIS_STREAM_NAME", "articles")
        if not _STREAM_PATTERN.match(name):
            raise SettingError(f"KINESIS_STREAM_NAME must be 1-128 of [a-zA-Z0-9_.-], got {name!r}")
        return name

    def bucket_name(self) -> str:
        name = self.string("S3_BUCKET_NAME", "my-bucket")
        if not _BUCKET_PATTERN.match(name):
            raise SettingError(f"S3_BUCKET_NAME must be a valid S3 bucket name (3-63 chars, a-z 0-9 . -), got {name!r}")
        return name


@functools.lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Regions where Kinesis exists, in every partition botocore knows (read offline from botocore's data)."""
    import boto3

    session = boto3.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("kinesis", partition_name=partition)
    )
