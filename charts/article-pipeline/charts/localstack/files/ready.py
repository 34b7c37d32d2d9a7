"""LocalStack readiness probe: Ready only once the stream is ACTIVE and the bucket exists.

Standard library only (any python3). LocalStack checks no signatures; the Authorization header
only carries the access key (account 000000000000, as `awslocal` uses) and the region.
The first success leaves a marker in the container's own file system (a restarted container
starts without it, and without data): from then on only the gateway's health is checked, so a
busy node slowing one DescribeStreamSummary never takes LocalStack out of its Service.
Env: AP_STREAM_NAME, AP_BUCKET_NAME, AWS_DEFAULT_REGION, PROBE_ENDPOINT (default
http://127.0.0.1:4566), PROBE_HEALTH_PATH (default /_localstack/health), READY_MARKER (default
/tmp/article-pipeline-ready).
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

ENDPOINT = os.environ.get("PROBE_ENDPOINT", "http://127.0.0.1:4566").rstrip("/")
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
MARKER = os.environ.get("READY_MARKER", "/tmp/article-pipeline-ready")
HEALTH_PATH = os.environ.get("PROBE_HEALTH_PATH", "/_localstack/health")
TIMEOUT_SECONDS = 8


def headers(service: str) -> dict[str, str]:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    scope = f"test/{stamp[:8]}/{REGION}/{service}/aws4_request"
    return {
        "X-Amz-Date": stamp,
        "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, Signature=0",
    }


def stream_status(stream: str) -> str:
    request = urllib.request.Request(
        f"{ENDPOINT}/",
        data=json.dumps({"StreamName": stream}).encode(),
        method="POST",
        headers={
            **headers("kinesis"),
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "Kinesis_20131202.DescribeStreamSummary",
        },
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        return str(json.load(response)["StreamDescriptionSummary"]["StreamStatus"])


def bucket_exists(bucket: str) -> bool:
    request = urllib.request.Request(f"{ENDPOINT}/{bucket}", method="HEAD", headers=headers("s3"))
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
        return bool(response.status == 200)


def gateway_healthy() -> bool:
    with urllib.request.urlopen(f"{ENDPOINT}{HEALTH_PATH}", timeout=TIMEOUT_SECONDS) as response:
        return bool(response.status == 200)


def main() -> int:
    stream, bucket = os.environ["AP_STREAM_NAME"], os.environ["AP_BUCKET_NAME"]
    try:
        if os.path.exists(MARKER):
            return 0 if gateway_healthy() else 1
        status = stream_status(stream)
        if status not in ("ACTIVE", "UPDATING"):
            print(f"stream {stream} is {status}", file=sys.stderr)
            return 1
        bucket_exists(bucket)
        with open(MARKER, "w") as marker:
            marker.write(f"{stream} {bucket}\n")
    except urllib.error.HTTPError as error:
        print(f"not ready: {error.url} answered {error.code}", file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError) as error:
        print(f"not ready: {error!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
