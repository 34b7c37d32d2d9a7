"""``make run`` itself (``python -m ops.run``), in local and standalone mode: rows arrive, Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_testing import REPO, wait_until

from common.settings import AwsSettings
from ops.outputs import read_output
from ops.processes import free_port

pytestmark = pytest.mark.e2e


def running(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


@pytest.mark.parametrize("cluster", ["local", "standalone"])
def test_run_command_brings_rows_and_stops_everything(
    cluster: str, moto_endpoint: str, aws: AwsSettings, names: dict, tmp_path: Path
) -> None:
    bind = f"127.0.0.1:{free_port()}"
    master_port = str(free_port())
    env = {
        **os.environ,
        "CLUSTER": cluster,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "STATE_DIR": str(tmp_path / "state"),
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "PUBLISH_COUNT": "30",
        "PUBLISH_RATE": "30",
        "PUBLISHER_BIND": bind,
        "TRIGGER_INTERVAL": "1 second",
        "SPARK_MASTER_PORT": master_port,
        "SPARK_MASTER_WEBUI_PORT": str(free_port()),
        "SHUFFLE_PARTITIONS": "2",
        "SPARK_MASTER_URL": "local[2]",
    }
    output = tmp_path / "run.log"
    run = subprocess.Popen(
        [sys.executable, "-m", "ops.run"], env=env, cwd=REPO, stdout=output.open("wb"), stderr=subprocess.STDOUT
    )
    try:

        def thirty_rows() -> bool:
            if run.poll() is not None:
                raise AssertionError(f"ops.run exited {run.returncode}:\n{output.read_text()[-3000:]}")
            return (
                read_output(aws, names["bucket"], "enriched_articles").num_rows >= 30
                and "articles     batch" in output.read_text()
            )

        wait_until(thirty_rows, 600, f"30 enriched rows via `make run` ({cluster})", interval=1.0)
        status = subprocess.run(
            [sys.executable, "-m", "ops.status"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert status.returncode == 0, status.stderr
        assert f"s3://{names['bucket']}/enriched_articles/" in status.stdout and " 30 " in status.stdout
        assert "articles_published" in status.stdout and "open shards" in status.stdout
        inspect = subprocess.run(
            [sys.executable, "-m", "ops.inspect"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert inspect.returncode == 0, inspect.stderr
        assert "== enriched_articles (30 rows)" in inspect.stdout and "word_count" in inspect.stdout
    finally:
        run.send_signal(signal.SIGINT)
        run.wait(90)
    text = output.read_text()
    assert run.returncode == 0, text[-3000:]
    assert "all processes stopped" in text
    if cluster == "standalone":
        assert f"spark://127.0.0.1:{master_port}" in text
    assert not running(f"--bind {bind}"), "the publisher outlived Ctrl-C"
    assert not running(f"--port {master_port}"), "the Spark master outlived Ctrl-C"
    assert read_output(aws, names["bucket"], "enriched_articles").num_rows == 30
