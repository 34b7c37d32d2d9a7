"""The ``kinesis`` source's options, validated once on the driver (Spark passes them as strings).

Options (case-insensitive): ``streamName`` (required), ``region``, ``endpointUrl``, ``roleArn``
with ``roleExternalId``, ``roleSessionName`` (``article-pipeline-job``) and ``stsEndpointUrl``
(``endpointUrl``): the IAM role Kinesis is called as, assumed with STS (``KINESIS_ROLE_ARN`` and
its settings; none: the executors' own credentials), ``startingPosition`` (TRIM_HORIZON | LATEST
| AT_TIMESTAMP:<epoch seconds or RFC 3339> | JSON ``{"shardId-...": {"type":
"AFTER_SEQUENCE_NUMBER", "seq": "..."}}``), ``positionLog`` (required: local directory or s3://
prefix; ``s3EndpointUrl``, else ``endpointUrl``, for one on S3), ``maxRecordsPerShard`` (10000),
``maxBytesPerTrigger`` (none; e.g. ``64m``: bytes of data and partition keys per batch, spread
over its shards; soft: a shard's read stops at the record that reaches its share),
``consumerName`` (none: polling with GetRecords; set: enhanced fan-out through the stream consumer of
that name, registered when missing), ``maxFetchSeconds`` (2), ``retryDeadlineSeconds`` (60), ``positionLogRetention`` (100 batches), ``logLevel`` (INFO: the executors' Python logging),
``faultInjection`` (off; e.g. ``throttle=0.3,server_error=0.1,expire_iterator=0.1,seed=7``, see
``faults``; the ``KINESIS_FAULT_INJECTION`` environment variable of the driver sets a default).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common.env import SettingError, parse_byte_size
from common.settings import AwsSettings, KinesisRole
from jobs.kinesis.consumer import consumer_name
from jobs.kinesis.faults import FaultSpec
from jobs.kinesis.starting_position import StartingPosition


def kinesis_role(lowered: Mapping[str, str]) -> KinesisRole | None:
    """The role of the options ``roleArn``, ``roleExternalId`` and ``roleSessionName`` (``lowered``: keys in lower case)."""

    def value(name: str) -> str | None:
        return lowered.get(name.lower(), "").strip() or None

    return KinesisRole.parse(
        value("roleArn"),
        value("roleExternalId"),
        value("roleSessionName"),
        default_session_name="article-pipeline-job",
        names=(
            "kinesis source option 'roleArn'",
            "kinesis source option 'roleExternalId'",
            "kinesis source option 'roleSessionName'",
        ),
    )


@dataclass(frozen=True)
class SourceOptions:
    """The source's options, validated once on the driver."""

    stream_name: str
    aws: AwsSettings
    starting_position: StartingPosition
    position_log: str
    max_records_per_shard: int
    max_bytes_per_trigger: int | None
    max_fetch_seconds: float
    retry_deadline_seconds: float
    position_log_retention: int
    log_level: str
    consumer_name: str | None = None  # enhanced fan-out through this stream consumer (None: GetRecords)
    faults: FaultSpec = dataclasses.field(default_factory=FaultSpec)

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> SourceOptions:
        lowered = {key.lower(): value for key, value in options.items()}

        def required(name: str) -> str:
            value = lowered.get(name.lower(), "").strip()
            if not value:
                raise SettingError(f"kinesis source option {name!r} is required")
            return value

        def number(name: str, default: float, kind: type = float) -> Any:
            raw = lowered.get(name.lower())
            if raw is None:
                return kind(default)
            try:
                value = kind(raw)
            except ValueError:
                raise SettingError(f"kinesis source option {name!r} must be a number, got {raw!r}") from None
            if not 0 < value < math.inf:
                raise SettingError(f"kinesis source option {name!r} must be a finite number > 0, got {raw!r}")
            return value

        # Parsed now; resolved (LATEST pinned to a time) only when a new checkpoint starts.
        starting = StartingPosition.parse("startingPosition", lowered.get("startingposition", "TRIM_HORIZON"))
        return cls(
            stream_name=required("streamName"),
            aws=AwsSettings(
                region=lowered.get("region", "us-east-1"),
                endpoint_url=lowered.get("endpointurl") or None,
                s3_endpoint_url=lowered.get("s3endpointurl") or None,
                sts_endpoint_url=lowered.get("stsendpointurl") or None,
                kinesis_role=kinesis_role(lowered),
            ),
            starting_position=starting,
            position_log=required("positionLog"),
            max_records_per_shard=number("maxRecordsPerShard", 10_000, int),
            max_bytes_per_trigger=(
                parse_byte_size("kinesis source option 'maxBytesPerTrigger'", lowered["maxbytespertrigger"])
                if lowered.get("maxbytespertrigger", "").strip()
                else None
            ),
            max_fetch_seconds=number("maxFetchSeconds", 2.0),
            retry_deadline_seconds=number("retryDeadlineSeconds", 60.0),
            position_log_retention=number("positionLogRetention", 100, int),
            log_level=lowered.get("loglevel", "INFO"),
            consumer_name=consumer_name("kinesis source option 'consumerName'", lowered.get("consumername")),
            faults=FaultSpec.parse(lowered.get("faultinjection", os.environ.get("KINESIS_FAULT_INJECTION"))),
        )
