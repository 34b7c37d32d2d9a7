"""Chaos: ``make run`` under load while the emulator freezes and S3 fails and slows. Nothing lost, nothing twice.

``python -m ops.run`` starts moto, the publisher (50 articles/s) and the job as a user's
``make run`` would; S3 goes through ``fault_proxy`` (``AWS_ENDPOINT_URL_S3``). Once rows flow:

1. moto is frozen with SIGSTOP for 30 s (Kinesis and S3 hang mid-request), then SIGCONT;
2. every S3 request answers 500 InternalError or 503 SlowDown for 20 s;
3. every S3 request is answered 2 s late for 20 s.

The run must never lose a process (``ops.run`` ends when any child exits), every published
record must end once in the tables (``ops.reconcile``), and the job's log must carry a line for
each outage while it happens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.request import urlopen

import pytest
from fault_proxy import FaultProxy
from pipeline_testing import REPO, job_settings, processes_with_state_dir, wait_until

from common.settings import AwsSettings
from ops.outputs import read_output
from ops.processes import free_port, port_open
from ops.reconcile import reconcile

pytestmark = pytest.mark.e2e

# 4 minutes at 50/s: the outages (70 s) meet traffic even when the first batch is slow (a busy machine)
PUBLISH_COUNT = 12_000
OUTAGE_EVENTS = {"kinesis_retry", "batch_slow", "outage_retry", "outage_recovered", "query_restarted"}


def job_events(log: Path) -> list[dict]:
    events = []
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            event["at"] = datetime.fromisoformat(event["ts"]).timestamp()
            events.append(event)
    return events


def moto_pid(state_dir: Path) -> int:
    for pid in processes_with_state_dir(state_dir):
        try:
            if b"moto_server" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    raise AssertionError("moto_server started by ops.run not found")


def test_outages_lose_nothing_and_the_job_never_exits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "test")  # this process reads the emulator too
    moto_port = free_port()
    moto = f"http://127.0.0.1:{moto_port}"
    proxy = FaultProxy(moto, delay_seconds=2.0).start()
    state_dir = tmp_path / "state"
    env = {
        **os.environ,
        "STATE_DIR": str(state_dir),
        "AWS_ENDPOINT_URL": moto,
        "AWS_ENDPOINT_URL_S3": proxy.url,
        "PUBLISHER_BIND": (publisher := f"127.0.0.1:{free_port()}"),
        "PUBLISH_RATE": "50",
        "PUBLISH_COUNT": str(PUBLISH_COUNT),
        "TRIGGER_INTERVAL": "2 seconds",
        "AUTHOR_STATS_TRIGGER_INTERVAL": "10 seconds",
        "SHUFFLE_PARTITIONS": "2",
        "SPARK_MASTER_URL": "local[2]",
        "RETRY_DEADLINE": "3 minutes",
    }
    aws = AwsSettings(region="us-east-1", endpoint_url=moto)  # the test reads around the proxy
    output = tmp_path / "run.log"
    run = subprocess.Popen(
        [sys.executable, "-m", "ops.run"], env=env, cwd=REPO, stdout=output.open("wb"), stderr=subprocess.STDOUT
    )
    windows: dict[str, tuple[float, float]] = {}
    try:

        def alive() -> None:
            if run.poll() is not None:
                raise AssertionError(f"make run ended ({run.returncode}):\n{output.read_text()[-4000:]}")

        def rows_flowing() -> bool:
            alive()
            if not port_open("127.0.0.1", moto_port):  # make run starts the emulator: nothing to read before it
                return False
            return read_output(aws, "my-bucket", "enriched_articles").num_rows > 0

        def outage(seconds: float) -> None:
            """Let a fault last ``seconds``, checking all the while that no process of the run exits."""
            ends = time.monotonic() + seconds
            while time.monotonic() < ends:
                alive()
                time.sleep(1)

        wait_until(rows_flowing, 300, "the first enriched rows under make run")
        pid = moto_pid(state_dir)
        began = time.time()
        os.kill(pid, signal.SIGSTOP)
        try:
            outage(30)
        finally:
            os.kill(pid, signal.SIGCONT)
        windows["emulator frozen 30 s"] = (began, time.time())
        print(f"chaos: moto frozen {began:.0f} - {time.time():.0f}")
        alive()
        for mode in ("error", "slow"):
            began, proxy.mode = time.time(), mode
            outage(20)
            proxy.mode = "pass"
            windows[f"S3 {mode} 20 s"] = (began, time.time())
            print(f"chaos: S3 {mode} {began:.0f} - {time.time():.0f}")
            alive()
        with urlopen(f"http://{publisher}/health", timeout=10) as health:
            # otherwise the last outages met no new articles, and the job had nothing to write through them
            assert not json.load(health)["done"], "the publisher finished before the outages ended"

        def all_published_and_reconciled() -> bool:
            alive()
            result = reconcile(job_settings(aws, "articles", "my-bucket"))
            # A PutRecords call cut off by the freeze may land and be sent again: the stream then
            # holds an article twice (at-least-once publishing), which the job drops by article_id.
            return result.published_valid_ids + result.published_invalid == PUBLISH_COUNT and result.balanced

        wait_until(all_published_and_reconciled, 420, "every published record once in the tables", interval=5)
        result = reconcile(job_settings(aws, "articles", "my-bucket"))
        alive()
    finally:
        proxy.mode = "pass"
        run.send_signal(signal.SIGINT)
        try:
            run.wait(120)
        finally:
            for leftover in processes_with_state_dir(state_dir):
                os.kill(leftover, signal.SIGKILL)
            proxy.stop()

    assert (result.missing, result.duplicates, result.unexpected) == (0, 0, 0)
    assert result.enriched + result.quarantined == PUBLISH_COUNT
    assert result.published == PUBLISH_COUNT + result.republished_dropped
    assert proxy.requests["error"] > 0 and proxy.requests["slow"] > 0, proxy.requests
    assert run.returncode == 0, output.read_text()[-3000:]
    events = job_events(state_dir / "logs" / "job.log")
    for name, (start, end) in windows.items():
        during = [e["event"] for e in events if start <= e["at"] <= end + 30 and e["event"] in OUTAGE_EVENTS]
        assert during, f"no log line about the outage '{name}'"
    counts = {name: sum(1 for e in events if e["event"] == name) for name in sorted(OUTAGE_EVENTS)}
    print(f"chaos: {result}; proxy requests {dict(proxy.requests)}; job events {counts}")
