"""Creating the stream and bucket the pipeline needs, idempotently, at start-up."""
from __future__ import annotations

import logging
import time
from typing import Any

from common.logs import log_event
from common.settings import SettingError

logger = logging.getLogger("publisher.resources")


def ensure_stream(kinesis: Any, stream_name: str, shard_count: int, timeout_seconds: float) -> None:
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
    deadline = time.monotonic() + timeout_seconds
    while True:
        status = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]["StreamStatus"]
        if status == "ACTIVE":
            return
        if time.monotonic() > deadline:
            raise SettingError(f"KINESIS_STREAM_NAME {stream_name!r} did not become ACTIVE within "
                               f"{timeout_seconds:.0f} s (status {status})")
        time.sleep(0.25)


def ensure_bucket(s3: Any, bucket_name: str, region: str) -> None:
    """Create ``bucket_name`` if missing (in ``region``)."""
    try:
        s3.head_bucket(Bucket=bucket_name)
        return
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    request: dict[str, Any] = {"Bucket": bucket_name}
    if region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**request)
        log_event(logger, "bucket_created", bucket=bucket_name)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass


def ensure_resources(kinesis: Any, s3: Any, stream_name: str, shard_count: int, bucket_name: str, region: str,
                     endpoint: str | None, timeout_seconds: float) -> None:
    """Both resources, retrying an unreachable endpoint until ``timeout_seconds``, then failing fast."""
    from botocore.exceptions import BotoCoreError, ClientError

    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            ensure_stream(kinesis, stream_name, shard_count, timeout_seconds)
            ensure_bucket(s3, bucket_name, region)
            return
        except (BotoCoreError, ClientError) as error:
            if time.monotonic() > deadline:
                where = f"AWS_ENDPOINT_URL {endpoint}" if endpoint else "AWS (no AWS_ENDPOINT_URL set)"
                raise SettingError(f"{where} is unreachable or refused the request after {timeout_seconds:.0f} s: "
                                   f"{error}") from error
            log_event(logger, "aws_not_ready", logging.WARNING, error=str(error)[:200])
            time.sleep(1.0)
