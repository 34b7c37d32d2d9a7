"""End-to-end latency (publish -> row committed in ``enriched_articles``; window final -> row in ``author_stats``)
and the job's memory.

The real job (``jobs/process_articles.py``, both queries, processing-time trigger) runs as its
own process. This process publishes at a fixed rate with the project's ``KinesisWriter``
(every 100 ms, as a publisher flushing its buffer would), remembering when each article was
sent; a poller reads the ``enriched_articles`` Delta log every ``poll`` seconds (deltalake) and
the ``article_id`` column of each newly committed file. Latency = time a committed version
first showed the row - send time (the poll interval bounds the error from above). ``author_stats`` is
polled the same way; its latency counts from the moment each window became final
(``bench.window_latency``), with ``WATERMARK_DELAY`` shortened to ``BENCH_WATERMARK_DELAY`` so that
several windows close within a run (the delay moves that moment, not what follows it). Memory: /proc
of the job's process tree.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.emulator import Emulator
from bench.job_log import job_batches, phase_batch_figures
from bench.job_memory import MemorySampler
from bench.paced_publisher import PacedPublisher
from bench.progress import log
from bench.repo import REPO, python_path_with_repo
from bench.stats import percentiles
from bench.table_visibility import Visibility
from bench.window_latency import closed_window_ends, epoch_seconds, window_latencies
from common.contract import AUTHOR_STATS
from common.env import parse_duration
from jobs.settings import DEFAULT_SHUFFLE_PARTITIONS
from ops.processes import start, stop_all

# The latency run's WATERMARK_DELAY unless a variant sets one: windows end every minute, so a few
# minutes of publishing close several of them.
BENCH_WATERMARK_DELAY = "20 seconds"
# Articles/s while waiting for windows to close (a steady trickle, as between bursts).
WINDOW_PHASE_RATE = 20.0


def end_to_end(
    emulator: Emulator,
    work_dir: Path,
    *,
    rates: list[str],
    seconds: float,
    record_bytes: int,
    shards: int,
    trigger: str,
    author_stats_trigger: str,
    poll: float,
    drain_timeout: float,
    max_rate_seconds: float = 5.0,
    window_seconds: float = 75.0,
    shuffle_partitions: int = DEFAULT_SHUFFLE_PARTITIONS,
    settings: dict[str, str] | None = None,
    job_name: str = "latency-job",
) -> dict[str, Any]:
    """Benchmarks 3 and 6: latency per publish rate, and the job's memory, in one job run.

    ``settings`` (a ``--variant``'s): ``spark.*`` keys go to the job's JVM as ``--conf`` (through
    ``PYSPARK_SUBMIT_ARGS``; a setting ``jobs.spark_session`` sets itself wins over them), the
    others are the job's environment (``SHUFFLE_PARTITIONS``, ``TRIGGER_INTERVAL``...). The job
    logs to ``<work_dir>/<job_name>.log`` (appended to: one name per run).
    """
    stream = emulator.create_stream(shards, "latency")
    bucket = emulator.create_bucket("latency")
    checkpoint = tempfile.mkdtemp(prefix="bench-latency-", dir=work_dir)
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "KINESIS_STREAM_NAME": stream,
        "S3_BUCKET_NAME": bucket,
        "CHECKPOINT_LOCATION": checkpoint,
        "TRIGGER_INTERVAL": trigger,
        "AUTHOR_STATS_TRIGGER_INTERVAL": author_stats_trigger,
        "SPARK_MASTER_URL": "local[2]",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYTHONPATH": python_path_with_repo(),
        "SHUFFLE_PARTITIONS": str(shuffle_partitions),
        "LOG_LEVEL": "INFO",
        "WATERMARK_DELAY": BENCH_WATERMARK_DELAY,
        **job_environment(settings or {}),
    }
    delay = parse_duration("WATERMARK_DELAY", env["WATERMARK_DELAY"])
    job = start(job_name, [sys.executable, str(REPO / "jobs" / "process_articles.py")], env, str(work_dir))
    log(
        f"job started (pid {job.process.pid}, trigger {trigger!r}, author_stats {author_stats_trigger!r}); "
        f"log {job.log_path}"
    )
    sampler = MemorySampler(job.process.pid)
    sampler.start()
    visibility = Visibility(emulator, bucket, poll)
    visibility.start()
    windows = Visibility(emulator, bucket, poll, AUTHOR_STATS)
    windows.start()
    publisher = PacedPublisher(emulator, stream, record_bytes)
    phases: list[dict[str, Any]] = []
    phase_marks: list[tuple[float, str]] = []
    try:
        started = time.monotonic()
        warm_ids, _ = publisher.run_rate(20, 1.0)
        _wait_visible(visibility, warm_ids, 240, job)
        log(f"job warm: first rows visible {time.monotonic() - started:.1f} s after start")
        for rate_name in rates:
            rate = None if rate_name == "max" else float(rate_name)
            sampler.phase = f"rate_{rate_name}"
            phase_marks.append((time.time(), sampler.phase))
            # At the emulator's top rate the job falls behind: publish for a shorter time so it drains.
            phase_seconds = seconds if rate is not None else min(seconds, max_rate_seconds)
            ids, achieved = publisher.run_rate(rate, phase_seconds)
            publish_done = time.monotonic()
            missing = _wait_visible(visibility, ids, drain_timeout, job)
            latencies = [visibility.seen[i] - publisher.sent[i] for i in ids if i in visibility.seen]
            phase = {
                "rate": rate_name,
                "target_rate": rate,
                "achieved_rate": achieved,
                "seconds": phase_seconds,
                "articles": len(ids),
                "visible": len(latencies),
                "missing": missing,
                "drain_seconds_after_publish": time.monotonic() - publish_done,
                **percentiles(latencies),
            }
            phases.append(phase)
            log(
                f"  latency at {rate_name:>4}/s (achieved {achieved:,.0f}/s, {len(ids)} articles): "
                f"p50 {phase['p50']:.2f} s, p95 {phase['p95']:.2f} s, p99 {phase['p99']:.2f} s, missing {missing}"
            )
        # author_stats: publish on while the job is steady until a window closes, then wait for the
        # row of every window the articles sent closed.
        sampler.phase = "windows"
        phase_marks.append((time.time(), sampler.phase))
        publisher.run_rate(WINDOW_PHASE_RATE, window_seconds)
        closed = closed_window_ends(list(publisher.sent.values()), delay.seconds)
        _wait_windows(windows, closed, drain_timeout, job)
        final = sampler.sample()
        phase_marks.append((time.time(), "after"))
    finally:
        sampler.stop()
        visibility.stop()
        windows.stop()
        stop_all([job], grace_seconds=20)
        emulator.delete_stream(stream)
    batches = job_batches(job.log_path, phase_marks)
    recorded = checkpoint_conf(Path(checkpoint) / "author_stats")
    for phase in phases:
        phase.update(phase_batch_figures(batches, f"rate_{phase['rate']}"))
    return {
        "record_bytes": record_bytes,
        "shards": shards,
        "trigger": trigger,
        "author_stats_trigger": author_stats_trigger,
        "poll_seconds": poll,
        "shuffle_partitions": shuffle_partitions,
        "phases": phases,
        "watermark_delay": str(delay),
        **author_stats_figures(windows, publisher, closed, delay.seconds),
        "job_batches": batches,
        # What Spark recorded in the stateful query's checkpoint (it keeps these on a resume).
        "author_stats_checkpoint_conf": recorded,
        "memory": sampler.summary(final),
        "unsent": publisher.unsent,
        "poll_errors": visibility.errors,
        "job_log": job.log_path,
    }


def checkpoint_conf(query_checkpoint: Path) -> dict[str, str]:
    """The SQL settings Spark recorded in a query's first offset-log entry (``offsets/0``); empty when none."""
    try:
        metadata = (query_checkpoint / "offsets" / "0").read_text().splitlines()[1]
        return dict(json.loads(metadata).get("conf") or {})
    except (OSError, IndexError, ValueError):
        return {}


def job_environment(settings: dict[str, str]) -> dict[str, str]:
    """The job's environment for ``settings``: ``spark.*`` as ``--conf`` in ``PYSPARK_SUBMIT_ARGS``, the rest as is."""
    confs = [f"--conf {shlex.quote(f'{key}={value}')}" for key, value in settings.items() if key.startswith("spark.")]
    env = {key: value for key, value in settings.items() if not key.startswith("spark.")}
    if confs:
        env["PYSPARK_SUBMIT_ARGS"] = " ".join([*confs, "pyspark-shell"])
    return env


def _wait_visible(visibility: Visibility, ids: list[str], timeout: float, job: Any) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if job.process.poll() is not None:
            raise RuntimeError(f"the job exited with code {job.process.returncode}; see {job.log_path}")
        missing = sum(1 for i in ids if i not in visibility.seen)
        if missing == 0:
            return 0
        time.sleep(0.25)
    return sum(1 for i in ids if i not in visibility.seen)


def _wait_windows(windows: Visibility, ends: set[float], timeout: float, job: Any) -> None:
    """Until ``author_stats`` shows a row of every window end in ``ends`` (or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if job.process.poll() is not None:
            raise RuntimeError(f"the job exited with code {job.process.returncode}; see {job.log_path}")
        if ends <= {epoch_seconds(end) for end, _author in list(windows.seen)}:
            return
        time.sleep(0.5)


def author_stats_figures(
    windows: Visibility, publisher: PacedPublisher, closed: set[float], delay_seconds: float
) -> dict[str, Any]:
    """Each author_stats row whose window the run closed, its latency from the window's finality, percentiles."""
    final_windows = window_latencies(windows.seen, list(publisher.sent.values()), delay_seconds)
    unseen = sorted(closed - {w["window_end"] for w in final_windows})
    latency = percentiles([w["latency_s"] for w in final_windows])
    log(
        f"  author_stats: {len(closed)} windows closed ({len(unseen)} without a row), {len(final_windows)} rows; "
        f"from final to visible p50 {latency['p50']:.2f} s, max {latency['max']:.2f} s"
    )
    return {
        "author_stats_windows": final_windows,
        "author_stats_windows_closed": len(closed),
        "author_stats_windows_without_row": unseen,
        "author_stats_latency": latency,
    }
