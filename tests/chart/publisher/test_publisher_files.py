"""publisher/files/wait_for_aws.py (publisher and driver init containers), run against moto_server."""

from __future__ import annotations

from typing import Any

import pytest
from chart_helpers import (
    CHART,
    WAIT,
    create_stream,
    events,
    run,
)

pytestmark = pytest.mark.chart


def test_wait_for_aws_copies_are_identical() -> None:
    assert (CHART / "charts" / "publisher" / "files" / "wait_for_aws.py").read_bytes() == WAIT.read_bytes()


def test_wait_for_aws(moto_endpoint: str, kinesis: Any, s3: Any, names: dict[str, str]) -> None:
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "WAIT_TIMEOUT_SECONDS": "1",
    }
    missing = run(WAIT, env)
    assert missing.returncode == 1
    last = events(missing)[-1]
    assert last["event"] == "aws_resources_missing"
    assert any(names["stream"] in m for m in last["missing"]) and any(names["bucket"] in m for m in last["missing"])
    create_stream(kinesis, names["stream"])
    s3.create_bucket(Bucket=names["bucket"])
    ready = run(WAIT, env)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert events(ready)[-1]["event"] == "aws_resources_ready"
