"""The pipeline's own settings, read once at start-up: AWS location and Kinesis role, stream, bucket, log level, clock skew.

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
# An IAM role's ARN, arn:<partition>:iam::<account>:role/<path/><name>, within IAM's limits on path and name.
_ROLE_ARN_PATTERN = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/([!-~]{1,510}/)?[\w+=,.@-]{1,64}$", re.ASCII)
# STS AssumeRole's RoleSessionName and ExternalId.
_SESSION_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)
_EXTERNAL_ID_PATTERN = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)
# The settings of the Kinesis role, in the order KinesisRole.parse takes them.
ROLE_SETTINGS = ("KINESIS_ROLE_ARN", "KINESIS_ROLE_EXTERNAL_ID", "KINESIS_ROLE_SESSION_NAME")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class KinesisRole:
    """The IAM role Kinesis is called as, for a stream in another account (``common.aws.client``).

    Assumed with STS AssumeRole from the process's own credentials (the standard chain), for
    ``duration_seconds``; botocore refreshes the credentials before they expire. S3 is never
    called as this role: the tables and checkpoints stay in the pipeline's own account.
    """

    arn: str
    session_name: str  # RoleSessionName: what the other account's CloudTrail shows
    external_id: str | None = None  # ExternalId, when the role's trust policy requires one
    duration_seconds: int = 3600  # DurationSeconds: an hour, what any role allows by default

    @classmethod
    def parse(
        cls,
        arn: str | None,
        external_id: str | None,
        session_name: str | None,
        *,
        default_session_name: str,
        names: tuple[str, str, str] = ROLE_SETTINGS,
    ) -> KinesisRole | None:
        """The role from its three settings (None without an ARN); ``names`` name them in errors."""
        arn_name, external_id_name, session_name_name = names
        if arn is None:
            for value, name in ((external_id, external_id_name), (session_name, session_name_name)):
                if value is not None:
                    raise SettingError(
                        f"{name} is set but {arn_name} is not: it only applies to a role to assume; "
                        f"set {arn_name} or unset {name}"
                    )
            return None
        if not _ROLE_ARN_PATTERN.match(arn):
            raise SettingError(
                f"{arn_name} must be an IAM role ARN like arn:aws:iam::123456789012:role/stream-reader, got {arn!r}"
            )
        if external_id is not None and not _EXTERNAL_ID_PATTERN.match(external_id):
            raise SettingError(
                f"{external_id_name} must be 2-1224 characters of letters, digits and _+=,.@:/-, got {external_id!r}"
            )
        session_name = default_session_name if session_name is None else session_name
        if not _SESSION_NAME_PATTERN.match(session_name):
            raise SettingError(
                f"{session_name_name} must be 2-64 characters of letters, digits and _+=,.@-, got {session_name!r}"
            )
        return cls(arn=arn, session_name=session_name, external_id=external_id)


@dataclass(frozen=True)
class AwsSettings:
    """Where the AWS APIs live: real AWS when ``endpoint_url`` is None, else an emulator."""

    region: str
    endpoint_url: str | None
    s3_endpoint_url: str | None = None  # AWS_ENDPOINT_URL_S3: S3 elsewhere than the other services
    sts_endpoint_url: str | None = None  # AWS_ENDPOINT_URL_STS: STS (assuming kinesis_role) elsewhere
    kinesis_role: KinesisRole | None = None  # Kinesis is called as this role; None: the own credentials

    def endpoint_for(self, service: str) -> str | None:
        """The endpoint of ``service`` ('kinesis', 's3', 'sts'): the service's own override, else the common one."""
        own = {"s3": self.s3_endpoint_url, "sts": self.sts_endpoint_url}.get(service)
        return own or self.endpoint_url


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

    def aws(self, component: str) -> AwsSettings:
        """Region, endpoints and the Kinesis role; ``component`` (publisher, job) names the role's default session."""
        source = "AWS_REGION" if self.raw("AWS_REGION") is not None else "AWS_DEFAULT_REGION"
        region = self.string(source, "us-east-1")
        if not _REGION_PATTERN.match(region) or region not in known_regions():
            raise SettingError(f"{source} must be a known AWS region like us-east-1 or eu-west-1, got {region!r}")
        return AwsSettings(
            region=region,
            endpoint_url=self.endpoint_url("AWS_ENDPOINT_URL"),
            s3_endpoint_url=self.endpoint_url("AWS_ENDPOINT_URL_S3"),
            sts_endpoint_url=self.endpoint_url("AWS_ENDPOINT_URL_STS"),
            kinesis_role=self.kinesis_role(component),
        )

    def kinesis_role(self, component: str) -> KinesisRole | None:
        """``KINESIS_ROLE_ARN``, ``KINESIS_ROLE_EXTERNAL_ID``, ``KINESIS_ROLE_SESSION_NAME``: the role Kinesis is called as.

        The session name defaults to ``article-pipeline-<component>``. No ARN: the process's own credentials.
        """
        arn, external_id, session_name = (self.optional_string(name) for name in ROLE_SETTINGS)
        return KinesisRole.parse(arn, external_id, session_name, default_session_name=f"article-pipeline-{component}")

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
