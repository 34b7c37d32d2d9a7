"""The AWS resources the publisher needs: created idempotently at start-up, probed for /health."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from common.aws import wait_for_stream_active
from common.env import SettingError
from common.logs import log_event
from publisher.settings import PublisherSettings

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_s3.type_defs import CreateBucketRequestTypeDef

logger = logging.getLogger("publisher.resources")
_REACHABILITY_CACHE_SECONDS = 2.0


class StreamProbe:
    """Whether the stream answers DescribeStreamSummary, cached briefly so probes stay cheap."""

    def __init__(self, kinesis: KinesisClient, stream_name: str) -> None:
        self.kinesis = kinesis
        self.stream_name = stream_name
        self._checked_at = 0.0
        self._reachable = False

    def reachable(self) -> bool:
        if time.monotonic() - self._checked_at > _REACHABILITY_CACHE_SECONDS:
            try:
                summary = self.kinesis.describe_stream_summary(StreamName=self.stream_name)
                self._reachable = summary["StreamDescriptionSummary"]["StreamStatus"] in ("ACTIVE", "UPDATING")
            except Exception:
                self._reachable = False
            self._checked_at = time.monotonic()
        return self._reachable


def ensure_stream(kinesis: KinesisClient, stream_name: str, shard_count: int, timeout_seconds: float) -> None:
    """Create ``stream_name`` if missing and wait until it is ACTIVE.

    An existing stream is only described, so a publisher role without ``kinesis:CreateStream``
    works against a stream made beforehand (e.g. by Terraform).
    """
    try:
        kinesis.describe_stream_summary(StreamName=stream_name)
    except kinesis.exceptions.ResourceNotFoundException:
        try:
            kinesis.create_stream(StreamName=stream_name, ShardCount=shard_count)
            log_event(logger, "stream_created", stream=stream_name, shards=shard_count)
        except kinesis.exceptions.ResourceInUseException:
            pass  # created meanwhile by another replica
    try:
        wait_for_stream_active(kinesis, stream_name, timeout_seconds)
    except WaiterError as error:
        raise SettingError(
            f"KINESIS_STREAM_NAME {stream_name!r} did not become ACTIVE within {timeout_seconds:.0f} s ({error})"
        ) from error


def ensure_bucket(s3: S3Client, bucket_name: str, region: str) -> None:
    """Create ``bucket_name`` if missing (in ``region``)."""
    try:
        s3.head_bucket(Bucket=bucket_name)
        return
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    request: CreateBucketRequestTypeDef = {"Bucket": bucket_name}
    if region != "us-east-1":
        # Any region AwsSettings accepts: the stubs' Literal lists only the regions known when they were built.
        request["CreateBucketConfiguration"] = {"LocationConstraint": cast("BucketLocationConstraintType", region)}
    try:
        s3.create_bucket(**request)
        log_event(logger, "bucket_created", bucket=bucket_name)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass


def ensure_resources(kinesis: KinesisClient, s3: S3Client, settings: PublisherSettings) -> None:
    """Stream and bucket, retrying an unreachable endpoint until the start-up timeout, then failing fast."""
    stream_name, timeout_seconds, endpoint = (
        settings.stream_name,
        settings.startup_timeout.seconds,
        settings.aws.endpoint_url,
    )
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            ensure_stream(kinesis, stream_name, settings.shard_count, timeout_seconds)
            ensure_bucket(s3, settings.bucket_name, settings.aws.region)
            return
        except (BotoCoreError, ClientError) as error:
            if time.monotonic() > deadline:
                where = f"AWS_ENDPOINT_URL {endpoint}" if endpoint else "AWS (no AWS_ENDPOINT_URL set)"
                raise SettingError(
                    f"{where} is unreachable or refused the request after {timeout_seconds:.0f} s: {error}"
                ) from error
            log_event(logger, "aws_not_ready", logging.WARNING, error=str(error)[:200])
            time.sleep(1.0)
