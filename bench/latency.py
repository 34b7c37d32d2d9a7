"""End-to-end latency (publish -> row committed in the ``enriched_articles`` table) and the job's memory.

The real job (``jobs/process_articles.py``, both queries, processing-time trigger) runs as its
own process. This process publishes at a fixed rate with the project's ``KinesisWriter``
(every 100 ms, as a publisher flushing its buffer would), remembering when each article was
sent; a poller reads the ``enriched_articles`` Delta log every ``poll`` seconds (deltalake) and
the ``article_id`` column of each newly committed file. Latency = time a committed version
first showed the row - send time (the poll interval bounds the error from above). Memory: /proc of the job's process tree.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.env import REPO, Emulator, SizedArticles, log, tree_memory
from common.contract import ENRICHED_ARTICLES
from ops.processes import start, stop_all
from publisher.kinesis_writer import MAX_RECORDS_PER_CALL, KinesisWriter, Record

_TICK = 0.1


class Visibility:
    """Polls the ``enriched_articles`` Delta table (its log, via deltalake) and records when each article_id
    first appears in a committed version: what a reader of the table sees."""

    def __init__(self, emulator: Emulator, bucket: str, poll: float) -> None:
        self.aws = emulator.aws
        self.bucket = bucket
        self.poll = poll
        self.seen: dict[str, float] = {}
        self._table: Any = None
        self._version = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.errors = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _scan(self) -> None:
        from ops.outputs import open_table

        polled_at = time.time()
        if self._table is None:
            self._table = open_table(self.aws, self.bucket, ENRICHED_ARTICLES)
            if self._table is None:
                return
        else:
            self._table.update_incremental()
        if self._table.version() == self._version:
            return
        self._version = self._table.version()
        for article_id in self._table.to_pyarrow_table(columns=["article_id"]).column(0).to_pylist():
            self.seen.setdefault(article_id, polled_at)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._scan()
            except Exception:
                self.errors += 1
            self._stop.wait(max(0.0, self.poll - (time.monotonic() - started)))


class MemorySampler:
    """Samples VmRSS of the job's process tree; per phase maxima by kind, VmHWM at the end."""

    def __init__(self, pid: int, every: float = 1.0) -> None:
        self.pid = pid
        self.every = every
        self.phase = "startup"
        self.maxima: dict[str, dict[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def sample(self) -> dict[str, Any]:
        processes = tree_memory(self.pid)
        by_kind: dict[str, Any] = {"processes": processes}
        for kind in ("jvm", "python_driver", "python_worker"):
            members = [p for p in processes if p["kind"] == kind]
            if kind == "jvm":
                # A JVM forking a Python daemon briefly shows a second "java" process with the
                # parent's pages: count the largest JVM only.
                members = sorted(members, key=lambda p: p["rss_kb"])[-1:]
            by_kind[kind] = {
                "count": len(members),
                "rss_mb": sum(p["rss_kb"] for p in members) / 1024,
                "pss_mb": sum(p["pss_kb"] for p in members) / 1024,
                "hwm_mb": sum(p["hwm_kb"] for p in members) / 1024,
                "max_single_hwm_mb": max((p["hwm_kb"] for p in members), default=0) / 1024,
            }
        return by_kind

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            sample = self.sample()
            phase = self.maxima.setdefault(self.phase, {})
            for kind in ("jvm", "python_driver", "python_worker"):
                phase[f"{kind}_rss_mb"] = max(phase.get(f"{kind}_rss_mb", 0), round(sample[kind]["rss_mb"], 1))
                phase[f"{kind}_pss_mb"] = max(phase.get(f"{kind}_pss_mb", 0), round(sample[kind]["pss_mb"], 1))
                phase[f"{kind}_count"] = max(phase.get(f"{kind}_count", 0), sample[kind]["count"])


def _percentiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    array = np.array(values)
    return {
        "p50": float(np.percentile(array, 50)),
        "p95": float(np.percentile(array, 95)),
        "p99": float(np.percentile(array, 99)),
        "max": float(array.max()),
        "min": float(array.min()),
    }


class Publisher:
    """Stamps template articles with a fresh id and the send time, publishes with ``KinesisWriter``."""

    def __init__(self, emulator: Emulator, stream: str, record_bytes: int) -> None:
        from common.aws import client

        self.writer = KinesisWriter(client("kinesis", emulator.aws), stream)
        sized = SizedArticles(record_bytes, seed=17)
        self.templates = [sized.article() for _ in range(500)]
        self.sent: dict[str, float] = {}
        self.unsent = 0
        self._random = random.Random(3)

    def publish(self, count: int) -> None:
        import json

        sent_at = time.time()
        stamp = datetime.fromtimestamp(sent_at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        records = []
        ids = []
        for _ in range(count):
            article = dict(self._random.choice(self.templates))
            article["article_id"] = str(uuid.uuid4())
            article["published_at"] = stamp
            ids.append(article["article_id"])
            records.append(Record(article["article_id"], json.dumps(article, separators=(",", ":")).encode()))
        for begin in range(0, len(records), MAX_RECORDS_PER_CALL):
            self.unsent += len(self.writer.put(records[begin : begin + MAX_RECORDS_PER_CALL]))
        for article_id in ids:
            self.sent[article_id] = sent_at

    def run_rate(self, rate: float | None, seconds: float) -> tuple[list[str], float]:
        """Publish at ``rate`` articles/s (None: as fast as the emulator accepts) for ``seconds``."""
        before = set(self.sent)
        started = time.monotonic()
        published = 0
        while (elapsed := time.monotonic() - started) < seconds:
            if rate is None:
                self.publish(MAX_RECORDS_PER_CALL)
                published += MAX_RECORDS_PER_CALL
                continue
            due = int(elapsed * rate) - published
            if due > 0:
                self.publish(due)
                published += due
            time.sleep(max(0.0, _TICK - (time.monotonic() - started - elapsed)))
        achieved = published / (time.monotonic() - started)
        return [i for i in self.sent if i not in before], achieved


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
    shuffle_partitions: int = 4,
) -> dict[str, Any]:
    """Benchmarks 3 and 6: latency per publish rate, and the job's memory, in one job run."""
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
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "SHUFFLE_PARTITIONS": str(shuffle_partitions),
        "LOG_LEVEL": "INFO",
    }
    job = start("latency-job", [sys.executable, str(REPO / "jobs" / "process_articles.py")], env, str(work_dir))
    log(
        f"job started (pid {job.process.pid}, trigger {trigger!r}, author_stats {author_stats_trigger!r}); "
        f"log {job.log_path}"
    )
    sampler = MemorySampler(job.process.pid)
    sampler.start()
    visibility = Visibility(emulator, bucket, poll)
    visibility.start()
    publisher = Publisher(emulator, stream, record_bytes)
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
                **_percentiles(latencies),
            }
            phases.append(phase)
            log(
                f"  latency at {rate_name:>4}/s (achieved {achieved:,.0f}/s, {len(ids)} articles): "
                f"p50 {phase['p50']:.2f} s, p95 {phase['p95']:.2f} s, p99 {phase['p99']:.2f} s, missing {missing}"
            )
        final = sampler.sample()
        phase_marks.append((time.time(), "after"))
    finally:
        sampler.stop()
        visibility.stop()
        stop_all([job], grace_seconds=20)
        emulator.delete_stream(stream)
    memory = {
        "jvm_peak_rss_mb": round(final["jvm"]["hwm_mb"], 1),
        "python_driver_peak_rss_mb": round(final["python_driver"]["hwm_mb"], 1),
        "python_workers": final["python_worker"]["count"],
        "python_workers_peak_rss_mb_max_single": round(final["python_worker"]["max_single_hwm_mb"], 1),
        "python_workers_rss_mb_sum_at_end": round(final["python_worker"]["rss_mb"], 1),
        "python_workers_pss_mb_sum_at_end": round(final["python_worker"]["pss_mb"], 1),
        "steady_state_max_rss_by_phase": sampler.maxima,
        "processes_at_end": [
            {k: p[k] for k in ("pid", "kind", "rss_kb", "hwm_kb", "pss_kb", "cmd")} for p in final["processes"]
        ],
    }
    batches = _job_batches(job.log_path, phase_marks)
    for phase in phases:
        durations = [
            b["duration_ms"]
            for b in batches
            if b.get("phase") == f"rate_{phase['rate']}" and b["query"] == "articles" and b.get("duration_ms")
        ]
        phase["articles_batches"] = len(durations)
        kinesis_batches = [b for b in batches if b.get("phase") == f"rate_{phase['rate']}" and b["shards_read"]]
        shard_batches = sum(b["shards_read"] for b in kinesis_batches)
        # The job's only Kinesis reader is the articles query: GetRecords per shard per trigger.
        phase["get_records_per_shard_per_trigger"] = (
            sum(b["get_records_calls"] for b in kinesis_batches) / shard_batches if shard_batches else None
        )
        phase["articles_batch_ms_median"] = _median_of(durations)
        articles = [b for b in batches if b.get("phase") == f"rate_{phase['rate']}" and b["query"] == "articles"]
        # Delta: each table append (compute of its rows + the commit) and the whole foreachBatch (Spark's addBatch).
        phase["enriched_write_ms_median"] = _median_of(
            [b["table_write_ms"][ENRICHED_ARTICLES] for b in articles if ENRICHED_ARTICLES in b["table_write_ms"]]
        )
        phase["articles_sink_ms_median"] = _median_of([b["sink_ms"] for b in articles if b.get("sink_ms")])
        phase["author_stats_sink_ms_median"] = _median_of(
            [
                b["sink_ms"]
                for b in batches
                if b.get("phase") == f"rate_{phase['rate']}" and b["query"] == "author_stats" and b.get("sink_ms")
            ]
        )
    return {
        "record_bytes": record_bytes,
        "shards": shards,
        "trigger": trigger,
        "author_stats_trigger": author_stats_trigger,
        "poll_seconds": poll,
        "shuffle_partitions": shuffle_partitions,
        "phases": phases,
        "job_batches": batches,
        "memory": memory,
        "unsent": publisher.unsent,
        "poll_errors": visibility.errors,
        "job_log": job.log_path,
    }


def _median_of(values: list[Any]) -> Any:
    return sorted(values)[len(values) // 2] if values else None


def _job_batches(log_path: str, marks: list[tuple[float, str]]) -> list[dict[str, Any]]:
    """The job's ``batch_completed`` events (query, batch, rows, duration), tagged with the phase."""
    import json

    batches = []
    try:
        lines = Path(log_path).read_text(errors="replace").splitlines()
    except OSError:
        return []
    write_ms: dict[int, dict[str, float]] = {}
    for line in lines:
        if not line.startswith("{") or "batch_" not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "articles_batch_written":
            write_ms[event["batch"]] = event.get("write_ms") or {}
            continue
        if event.get("event") != "batch_completed":
            continue
        when = datetime.fromisoformat(event["ts"]).timestamp()
        phase = "startup"
        for mark, name in marks:
            if when >= mark:
                phase = name
        batches.append(
            {
                "query": event["query"],
                "batch": event["batch"],
                "rows": event["input_rows"],
                "duration_ms": event["duration_ms"],
                "sink_ms": event.get("sink_ms"),
                "table_write_ms": write_ms.get(event["batch"], {}) if event["query"] == "articles" else {},
                "shards_read": len(event.get("shards") or {}),
                "get_records_calls": sum(
                    (shard.get("get_records_calls") or 0) for shard in (event.get("shards") or {}).values()
                ),
                "ts": event["ts"],
                "phase": phase,
            }
        )
    return batches


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
