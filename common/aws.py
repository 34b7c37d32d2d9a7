"""boto3 clients built the same way everywhere, and the AWS error handling every caller shares.

Credentials always come from the standard chain (environment, profile, IRSA web identity);
no code passes keys. When an endpoint is set (moto, LocalStack) S3 uses path-style
addressing; against real AWS it uses the default virtual-hosted style.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Any, Literal, overload

from common.settings import AwsSettings

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_s3 import S3Client

# Error codes AWS returns when a caller exceeds a rate or throughput limit.
THROTTLE_CODES = frozenset({"ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException"})
# Throttling plus the server-side failures a retry can fix.
RETRYABLE_CODES = THROTTLE_CODES | {
    "InternalFailure",
    "InternalFailureException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "KMSThrottlingException",
}

S3_SCHEME = "s3://"


def s3_bucket_and_key(url: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` as (``bucket``, ``some/key``)."""
    bucket, _, key = url.removeprefix(S3_SCHEME).partition("/")
    return bucket, key


@overload
def client(service: Literal["kinesis"], aws: AwsSettings, **config_overrides: Any) -> KinesisClient: ...


@overload
def client(service: Literal["s3"], aws: AwsSettings, **config_overrides: Any) -> S3Client: ...


def client(service: Literal["kinesis", "s3"], aws: AwsSettings, **config_overrides: Any) -> KinesisClient | S3Client:
    """A boto3 client for ``service`` with standard retries (``config_overrides`` go to botocore's ``Config``)."""
    import boto3
    from botocore.config import Config

    endpoint = aws.endpoint_for(service)
    options: dict[str, Any] = {"retries": {"mode": "standard", "max_attempts": 3}}
    if service == "s3" and endpoint:
        options["s3"] = {"addressing_style": "path"}
    options.update(config_overrides)
    session = boto3.session.Session()
    return session.client(service, region_name=aws.region, endpoint_url=endpoint, config=Config(**options))


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` ('' for anything else)."""
    response = getattr(error, "response", None)
    return str((response or {}).get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def full_jitter_backoff(attempt: int, rng: random.Random, base_seconds: float, cap_seconds: float) -> float:
    """AWS's "full jitter" backoff: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0, min(cap_seconds, base_seconds * 2**attempt))


def wait_for_stream_active(
    kinesis: KinesisClient, stream_name: str, timeout_seconds: float, poll_seconds: float = 0.25
) -> None:
    """Block until ``stream_name`` is ACTIVE (boto3's ``stream_exists`` waiter); ``WaiterError`` past the timeout."""
    kinesis.get_waiter("stream_exists").wait(
        StreamName=stream_name,
        # botocore sleeps whatever number Delay holds; the stubs' int would make the wait 4x longer.
        WaiterConfig={"Delay": poll_seconds, "MaxAttempts": max(1, math.ceil(timeout_seconds / poll_seconds))},  # type: ignore[typeddict-item]
    )
