"""``make report`` (python -m ops.report) against a real prometheus_client registry served over HTTP.

The job's own registry (jobs/job_metrics.py) is served on a free 127.0.0.1 port and fed while the
report records: two shards at fixed lags, rows read at a known rate. The publisher's endpoint is
a port nobody listens on. What a user sees is checked: the output, the PNG, the HTML page, and
samples.json's lag per shard and rate.
"""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest
from pipeline_testing import REPO, wait_until

from jobs.job_metrics import JobMetrics
from ops.processes import free_port

pytestmark = pytest.mark.integration

ROWS_PER_SECOND = 50.0
LAG_MS = {"shardId-000000000000": 1500, "shardId-000000000001": 250}


@pytest.fixture
def job_metrics_url() -> Iterator[str]:
    """A job metrics endpoint whose articles query reads ``ROWS_PER_SECOND`` rows/s, fed by the wall clock."""
    metrics = JobMetrics()
    bind = f"127.0.0.1:{free_port()}"
    server = metrics.serve(bind)
    stop = threading.Event()

    def feed() -> None:
        start, fed = time.monotonic(), 0
        while not stop.wait(0.05):
            due = int((time.monotonic() - start) * ROWS_PER_SECOND)
            shards = {shard: {"records": 0, "millis_behind_latest": lag} for shard, lag in LAG_MS.items()}
            metrics.batch_completed(
                "articles", {"numInputRows": due - fed, "durationMs": {"triggerExecution": 700}}, shards, 0
            )
            metrics.articles_written({"enriched_articles": due - fed}, {}, {}, 0)
            fed = due

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    url = f"http://{bind}/metrics"
    wait_until(lambda: b"article_pipeline_input_rows_total" in urlopen(url, timeout=2).read(), 10, "the job metrics")
    yield url
    stop.set()
    feeder.join(5)
    server.shutdown()


def report(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ops.report", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def curves(doc: dict[str, Any], title: str) -> list[dict[str, Any]]:
    return next(panel["curves"] for panel in doc["panels"] if panel["title"] == title)


def test_report_draws_the_lag_of_each_shard_and_the_rate_fed_with_a_dead_endpoint_as_a_gap(
    job_metrics_url: str, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/metrics"
    args = ["--every", "500ms", "--for", "5s", "--rate-window", "2s", "--job", job_metrics_url, "--publisher", dead]
    run = report(*args, "--out", str(tmp_path))
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stdout + stderr
    assert stdout.count(f"publisher metrics at {dead} did not answer") == 1, stdout
    png, page, samples = (tmp_path / name for name in ("report.png", "report.html", "samples.json"))
    for path in (png, page, samples):
        assert f"wrote {path}" in stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    html = page.read_text()
    assert "data:image/png;base64," in html and page.stat().st_size > png.stat().st_size
    assert "Kinesis lag per shard" in html and job_metrics_url in html and dead in html

    doc = json.loads(samples.read_text())
    lag = {curve["labels"]["shard"]: curve for curve in curves(doc, "Kinesis lag per shard")}
    assert {shard: curve["last"] for shard, curve in lag.items()} == {s: ms / 1000 for s, ms in LAG_MS.items()}
    read = next(c for c in curves(doc, "Throughput out: rows appended per table") if c["legend"] == "read by articles")
    measured = statistics.median(value for _t, value in read["points"] if value is not None)
    assert measured == pytest.approx(ROWS_PER_SECOND, rel=0.2), read["points"]
    publisher = [scrape for scrape in doc["scrapes"] if scrape["endpoint"] == "publisher"]
    assert publisher and all(scrape["error"] for scrape in publisher)
    throughput_in = curves(doc, "Throughput in: records read per shard")
    assert "published" not in [curve["legend"] for curve in throughput_in]  # never answered: nothing drawn

    replot = report("--replot", str(samples), "--out", str(tmp_path / "again"))
    stdout, stderr = replot.communicate(timeout=120)
    assert replot.returncode == 0 and (tmp_path / "again" / "report.png").stat().st_size > 20_000, stdout + stderr


def test_ctrl_c_ends_the_recording_early_and_still_writes(job_metrics_url: str, tmp_path: Path) -> None:
    run = report(
        "--every", "500ms", "--for", "10 minutes", "--job", job_metrics_url, "--publisher", "", "--out", str(tmp_path)
    )
    assert run.stdout is not None
    started = time.monotonic()
    lines = []
    while not any("scrapes;" in line for line in lines):  # the first progress line: recording
        assert time.monotonic() - started < 60, "".join(lines)
        lines.append(run.stdout.readline())
    run.send_signal(signal.SIGINT)
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 0, stdout + stderr
    assert "SIGINT: stopping early" in stdout and (tmp_path / "report.png").exists(), stdout


def test_nothing_answering_is_an_error_saying_what_to_start_and_where_it_looked(tmp_path: Path) -> None:
    job, publisher = (f"http://127.0.0.1:{free_port()}/metrics" for _ in range(2))
    run = report("--every", "500ms", "--for", "2s", "--job", job, "--publisher", publisher, "--out", str(tmp_path))
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 1, stdout + stderr
    assert "make run" in stderr and job in stderr and publisher in stderr, stderr
    assert not (tmp_path / "report.png").exists()
