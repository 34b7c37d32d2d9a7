"""Init container: wait until the Kinesis stream is ACTIVE and the S3 bucket exists.

Orders start-up: the pod's main container starts only once what it reads and writes is
there (on kind, LocalStack's init hook makes both). Fails after WAIT_TIMEOUT_SECONDS naming
what is missing, so a wrong name or endpoint shows in `kubectl describe pod`, not as a hang.
One file: the spark-job chart links to this copy in the publisher chart.

Env: KINESIS_STREAM_NAME, S3_BUCKET_NAME, AWS_REGION, AWS_ENDPOINT_URL (optional),
WAIT_TIMEOUT_SECONDS (default 600). Credentials: the SDK's default chain.
"""

import json
import os
import sys
import time

import boto3
from botocore.config import Config


def log(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


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
    config = Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 1})
    region = os.environ.get("AWS_REGION", "us-east-1")

    def check() -> list[str]:
        # Fresh clients (and connections) per attempt: nothing from a failed attempt carries over.
        kinesis = boto3.client("kinesis", region_name=region, endpoint_url=endpoint, config=config)
        s3 = boto3.client("s3", region_name=region, endpoint_url=endpoint, config=config)
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
