"""The AWS resources the publisher needs: created idempotently at start-up, probed for /health."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from common.aws import wait_for_stream_active
from common.env import SettingError
from common.logs import log_event
from publisher.failures import failure_code, failure_detail
from publisher.settings import PublisherSettings

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_s3.type_defs import CreateBucketRequestTypeDef

logger = logging.getLogger("publisher.resources")
_REACHABILITY_CACHE_SECONDS = 2.0
STREAM_NOT_ACTIVE = "stream_not_active"  # the stream exists but is being created or deleted


class StreamProbe:
    """Why the stream cannot be written to now (a code, ``publisher.failures``), None while it can.

    Asks DescribeStreamSummary at most every 2 seconds and in one thread at a time (the others
    answer from the last check, so a slow Kinesis holds one request thread, not all). A new failure
    is logged with its full text (``stream_probe_failed``), the recovery too; answers carry the code.
    """

    def __init__(self, kinesis: KinesisClient, stream_name: str) -> None:
        self.kinesis = kinesis
        self.stream_name = stream_name
        self._checked_at = -math.inf
        self._error: str | None = None
        self._checking = threading.Lock()

    def error(self) -> str | None:
        if time.monotonic() - self._checked_at > _REACHABILITY_CACHE_SECONDS and self._checking.acquire(blocking=False):
            try:
                error, detail = self._check()
                if error != self._error:
                    if error is None:
                        log_event(logger, "stream_probe_recovered", stream=self.stream_name)
                    else:
                        log_event(
                            logger,
                            "stream_probe_failed",
                            logging.WARNING,
                            stream=self.stream_name,
                            code=error,
                            error=detail,
                        )
                self._error, self._checked_at = error, time.monotonic()
            finally:
                self._checking.release()
        return self._error

    def _check(self) -> tuple[str | None, str]:
        """The stream's error code (None when ACTIVE or UPDATING) and the full text behind it."""
        try:
            summary = self.kinesis.describe_stream_summary(StreamName=self.stream_name)
        except Exception as error:
            return failure_code(error), failure_detail(error)
        status = summary["StreamDescriptionSummary"]["StreamStatus"]
        if status in ("ACTIVE", "UPDATING"):
            return None, status
        return STREAM_NOT_ACTIVE, f"stream status {status}"


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
