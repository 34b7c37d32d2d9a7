"""boto3 clients built the same way everywhere, and the AWS error handling every caller shares.

Credentials always come from the standard chain (environment, profile, IRSA web identity);
no code passes keys. With a Kinesis role (``KINESIS_ROLE_ARN``, a stream in another account)
Kinesis clients use that role's credentials from STS AssumeRole, taken with the chain's and
refreshed by botocore before they expire; S3 always uses the chain's own. When an endpoint is
set (moto, LocalStack) S3 uses path-style addressing; against real AWS it uses the default
virtual-hosted style.
"""

from __future__ import annotations

import functools
import math
import random
from typing import TYPE_CHECKING, Any, Literal, overload

from common.settings import AwsSettings, KinesisRole

if TYPE_CHECKING:
    from botocore.credentials import Credentials
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
    "Throttling",  # STS (AssumeRole for a Kinesis role)
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
    if service == "kinesis" and aws.kinesis_role is not None:
        session = boto3.session.Session(
            botocore_session=_session_with(role_credentials(aws.kinesis_role, aws.region, aws.endpoint_for("sts")))
        )
    else:
        session = boto3.session.Session()
    return session.client(service, region_name=aws.region, endpoint_url=endpoint, config=Config(**options))


@functools.lru_cache(maxsize=8)
def role_credentials(role: KinesisRole, region: str, sts_endpoint: str | None) -> Credentials:
    """Credentials of ``role``, from STS AssumeRole on first use, refreshed by botocore before they expire.

    One per process, role, region and STS endpoint (every Kinesis client built with them shares it: a
    Spark worker or the publisher calls AssumeRole about once per ``role.duration_seconds``, not
    per client or batch). botocore refreshes 15 minutes before the expiry without blocking (a
    failure is logged and the current credentials stay in use), and blocks from 10 minutes before.
    AssumeRole is signed with the standard chain's credentials (environment, profile, IRSA) and
    sent to ``sts_endpoint`` (``AwsSettings.endpoint_for("sts")``), else the STS endpoint of ``region``.
    """
    import botocore.session
    from botocore.config import Config
    from botocore.credentials import DeferredRefreshableCredentials

    request: dict[str, Any] = {
        "RoleArn": role.arn,
        "RoleSessionName": role.session_name,
        "DurationSeconds": role.duration_seconds,
    }
    if role.external_id is not None:
        request["ExternalId"] = role.external_id
    sts: Any = None  # created on the first AssumeRole; botocore calls refreshes one at a time

    def assume_role() -> dict[str, Any]:
        nonlocal sts
        if sts is None:
            sts = botocore.session.get_session().create_client(  # signs with the standard chain's credentials
                "sts",
                region_name=region,
                endpoint_url=sts_endpoint,
                config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10),
            )
        credentials = sts.assume_role(**request)["Credentials"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    return DeferredRefreshableCredentials(refresh_using=assume_role, method="assume-role")


def kinesis_credentials(aws: AwsSettings) -> Credentials:
    """What Kinesis requests are signed with: the Kinesis role's credentials, else the standard chain's.

    For requests made without a boto3 client (``SubscribeToShard``'s event stream); boto3's
    Kinesis clients from ``client`` sign with the same credentials.
    """
    if aws.kinesis_role is not None:
        return role_credentials(aws.kinesis_role, aws.region, aws.endpoint_for("sts"))
    return _chain_credentials()


@functools.lru_cache(maxsize=1)
def _chain_credentials() -> Credentials:
    import botocore.session
    from botocore.exceptions import NoCredentialsError

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    return credentials


def _session_with(credentials: Credentials) -> Any:
    """A botocore session whose clients sign with ``credentials`` (its only credential provider)."""
    import botocore.session
    from botocore.credentials import CredentialProvider, CredentialResolver

    class Given(CredentialProvider):
        METHOD = credentials.method

        def load(self) -> Credentials:
            return credentials

    session = botocore.session.get_session()
    session.register_component("credential_provider", CredentialResolver([Given()]))
    return session


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
