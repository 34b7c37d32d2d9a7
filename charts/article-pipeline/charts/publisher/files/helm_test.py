"""`helm test`: the publisher answers /health with 200, `POST /articles` is on (a token configured)
or off as the release says, and the stream and bucket it uses exist.

Env: PUBLISHER_URL (e.g. http://<release>-publisher:8000), API_TOKEN_EXPECTED ("true": the
publisher must have read its token file, so a POST without a token answers 401; otherwise 403),
KINESIS_STREAM_NAME, S3_BUCKET_NAME, AWS_REGION, AWS_ENDPOINT_URL (optional), KINESIS_ROLE_ARN
(optional: the stream is checked as that role, with KINESIS_ROLE_EXTERNAL_ID,
KINESIS_ROLE_SESSION_NAME). Retries for up to
TEST_TIMEOUT_SECONDS (default 120): a publisher that just rolled may need a few seconds. The test
never holds the token: a POST without one publishes nothing.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
from botocore.config import Config


def kinesis_client(region: str, endpoint: str | None, **config: Any) -> Any:
    """Kinesis as the pod's own credentials or, with KINESIS_ROLE_ARN (a stream in another account),
    as that role: assumed by the application's code in the image (common.aws), on the same settings."""
    if not os.environ.get("KINESIS_ROLE_ARN"):
        return boto3.client("kinesis", region_name=region, endpoint_url=endpoint, config=Config(**config))
    from common.aws import client  # noqa: PLC0415 - the role alone needs the application's code
    from common.settings import PipelineEnv  # noqa: PLC0415

    return client("kinesis", PipelineEnv().aws("helm-test"), **config)


def check() -> dict[str, object]:
    """One round of checks; raises with a readable message on the first failure."""
    url = os.environ["PUBLISHER_URL"].rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            health = json.load(response)
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"GET {url} answered {error.code}: {error.read()[:300]!r}") from error
    token_expected = os.environ.get("API_TOKEN_EXPECTED", "false") == "true"
    articles = os.environ["PUBLISHER_URL"].rstrip("/") + "/articles"
    post = urllib.request.Request(articles, data=b"[]", method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(post, timeout=5) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    if status != (401 if token_expected else 403):
        state = "a token (401 without one)" if token_expected else "no token (403)"
        raise RuntimeError(f"POST {articles} without a token answered {status}; the release configures {state}")
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    region = os.environ.get("AWS_REGION", "us-east-1")
    config: dict[str, Any] = {"connect_timeout": 3, "read_timeout": 5, "retries": {"max_attempts": 2}}
    stream = os.environ["KINESIS_STREAM_NAME"]
    kinesis = kinesis_client(region, endpoint, **config)
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    if summary["StreamStatus"] not in ("ACTIVE", "UPDATING"):
        raise RuntimeError(f"stream {stream} is {summary['StreamStatus']}")
    boto3.client("s3", region_name=region, endpoint_url=endpoint, config=Config(**config)).head_bucket(
        Bucket=os.environ["S3_BUCKET_NAME"]
    )
    return {"health": health, "api_token": token_expected, "stream": stream, "shards": summary["OpenShardCount"]}


def main() -> int:
    deadline = time.monotonic() + float(os.environ.get("TEST_TIMEOUT_SECONDS", "120"))
    while True:
        try:
            print(json.dumps({"event": "helm_test_passed", **check()}, default=str), flush=True)
            return 0
        except Exception as error:
            if time.monotonic() > deadline:
                print(json.dumps({"event": "helm_test_failed", "error": str(error)[:1000]}), flush=True)
                return 1
            print(json.dumps({"event": "helm_test_retrying", "error": str(error)[:300]}), flush=True)
            time.sleep(3)


if __name__ == "__main__":
    sys.exit(main())
