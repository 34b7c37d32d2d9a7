"""Init container: wait until the Kinesis stream is ACTIVE and the S3 bucket exists.

Orders start-up: the pod's main container starts only once what it reads and writes is
there (on kind, LocalStack's init hook makes both). Fails after WAIT_TIMEOUT_SECONDS naming
what is missing, so a wrong name or endpoint shows in `kubectl describe pod`, not as a hang.
One file: the spark-job chart links to this copy in the publisher chart.

Env: KINESIS_STREAM_NAME, S3_BUCKET_NAME, AWS_REGION, AWS_ENDPOINT_URL (optional),
WAIT_TIMEOUT_SECONDS (default 600), KINESIS_ROLE_ARN (optional: the stream is read as that role,
with KINESIS_ROLE_EXTERNAL_ID, KINESIS_ROLE_SESSION_NAME). Credentials: the SDK's default chain.
"""

import json
import os
import sys
import time
from typing import Any

import boto3
from botocore.config import Config


def log(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def kinesis_client(region: str, endpoint: str | None, **config: Any) -> Any:
    """Kinesis as the pod's own credentials or, with KINESIS_ROLE_ARN (a stream in another account),
    as that role: assumed by the application's code in the image (common.aws), on the same settings."""
    if not os.environ.get("KINESIS_ROLE_ARN"):
        return boto3.client("kinesis", region_name=region, endpoint_url=endpoint, config=Config(**config))
    from common.aws import client  # noqa: PLC0415 - the role alone needs the application's code
    from common.settings import PipelineEnv  # noqa: PLC0415

    return client("kinesis", PipelineEnv().aws("wait-for-aws"), **config)


def missing(kinesis: object, s3: object, stream: str, bucket: str) -> list[str]:
    """What is not there yet, as readable reasons (empty when both are ready)."""
    reasons = []
    try:
        summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]  # type: ignore[attr-defined]
        if summary["StreamStatus"] not in ("ACTIVE", "UPDATING"):
            reasons.append(f"stream {stream} is {summary['StreamStatus']}")
    except Exception as error:
        reasons.append(f"stream {stream}: {error}")
    try:
        s3.head_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    except Exception as error:
        reasons.append(f"bucket {bucket}: {error}")
    return reasons


def main() -> int:
    stream, bucket = os.environ["KINESIS_STREAM_NAME"], os.environ["S3_BUCKET_NAME"]
    timeout = float(os.environ.get("WAIT_TIMEOUT_SECONDS", "600"))
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    config: dict[str, Any] = {"connect_timeout": 3, "read_timeout": 5, "retries": {"max_attempts": 1}}
    region = os.environ.get("AWS_REGION", "us-east-1")

    def check() -> list[str]:
        # Fresh clients (and connections) per attempt: nothing from a failed attempt carries over.
        kinesis = kinesis_client(region, endpoint, **config)
        s3 = boto3.client("s3", region_name=region, endpoint_url=endpoint, config=Config(**config))
        return missing(kinesis, s3, stream, bucket)

    started = time.monotonic()
    reasons = check()
    while reasons:
        waited = time.monotonic() - started
        if waited > timeout:
            log("aws_resources_missing", waited_seconds=round(waited), endpoint=endpoint, missing=reasons)
            return 1
        log("waiting_for_aws_resources", waited_seconds=round(waited), missing=[r[:200] for r in reasons])
        time.sleep(3)
        reasons = check()
    log("aws_resources_ready", stream=stream, bucket=bucket, waited_seconds=round(time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
