"""localstack/files/ready.py (the readiness probe), run against moto_server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chart_helpers import (
    READY,
    create_stream,
    run,
)

pytestmark = pytest.mark.chart


def test_ready_probe(moto_endpoint: str, kinesis: Any, s3: Any, names: dict[str, str], tmp_path: Path) -> None:
    marker = tmp_path / "ready"
    env = {
        "PROBE_ENDPOINT": moto_endpoint,
        "AP_STREAM_NAME": names["stream"],
        "AP_BUCKET_NAME": names["bucket"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "READY_MARKER": str(marker),
        "PROBE_HEALTH_PATH": "/moto-api/",  # moto's stand-in for /_localstack/health
    }
    assert run(READY, env).returncode == 1
    create_stream(kinesis, names["stream"])
    not_yet = run(READY, env)
    assert not_yet.returncode == 1 and names["bucket"] in not_yet.stderr
    assert not marker.exists()
    s3.create_bucket(Bucket=names["bucket"])
    ready = run(READY, env)
    assert ready.returncode == 0, ready.stderr
    assert marker.is_file()
    # once Ready, only the gateway counts: a slow or failing AWS call no longer unreadies it
    assert run(READY, {**env, "AP_STREAM_NAME": "gone"}).returncode == 0
    assert run(READY, {**env, "PROBE_ENDPOINT": "http://127.0.0.1:9"}).returncode == 1
