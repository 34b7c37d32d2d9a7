"""Entry point of the streaming job: ``python jobs/process_articles.py`` or ``spark-submit`` it.

Reads its settings from the environment (see README), starts the ``articles`` and
``author_stats`` queries, prints one structured progress line per completed batch, and stops
cleanly on SIGTERM or Ctrl-C (the checkpoints make the next start resume exactly).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.contract import OUTPUTS
from common.env import SettingError
from common.logs import configure_logging, log_event
from jobs.outage import OutageGuard, SlowBatchWatch, service_endpoint
from jobs.settings import JobSettings
from jobs.watermark_drops import WatermarkDrops, dropped_in_batch

logger = logging.getLogger("jobs.process_articles")
_POLL_SECONDS = 1.0
# A batch running longer than this (or 3 trigger intervals) is logged as slow (batch_slow).
_SLOW_BATCH_SECONDS = 20.0
# failure_text: at most this many lines of causes; the stack-trace lines that name a cause.
_CAUSE_LINES = 60
_CAUSE_PREFIXES = ("Caused by:", "Suppressed:")


def build_spark(settings: JobSettings) -> Any:
    from jobs.spark_session import build_session

    return build_session(
        settings.app_name,
        settings.aws,
        master=settings.spark_master_url,
        shuffle_partitions=settings.shuffle_partitions,
    )


def batch_shard_lag(settings: JobSettings, progress: dict[str, Any], query_name: str) -> dict[str, Any]:
    """Per-shard records read and millisBehindLatest of the batch a progress report covers."""
    from jobs.kinesis.positions import SourceOffset
    from jobs.kinesis.progress import shard_ends, shard_lag

    sources = progress.get("sources") or []
    if not sources or not sources[0].get("endOffset"):
        return {}
    offset = SourceOffset.parse(sources[0]["endOffset"])
    if offset is None:
        return {}
    return shard_lag(shard_ends(offset, settings.source_options(query_name)["positionLog"], settings.aws))


@dataclass
class ProgressReporter:
    """One ``batch_completed`` line per completed batch of each query, none missed or repeated.

    Rows a watermark dropped are counted in the line and in the query's running total
    (``jobs.watermark_drops``, which ``make status`` shows).
    """

    settings: JobSettings
    seen: dict[str, int] = field(default_factory=dict)  # the last batch reported per query
    drops: dict[str, WatermarkDrops] = field(default_factory=dict)

    def report(self, queries: list[Any]) -> list[str]:
        """Log the batches completed since the last call; the names of the queries that completed one."""
        reported = []
        for query in queries:
            batches = [p for p in query.recentProgress if p["batchId"] > self.seen.get(query.name, -1)]
            for progress in batches:
                self._line(query.name, progress)
            if batches:
                reported.append(query.name)
        return reported

    def _line(self, query_name: str, progress: dict[str, Any]) -> None:
        self.seen[query_name] = progress["batchId"]
        checkpoint = self.settings.query_checkpoint(query_name)
        tally = self.drops.get(query_name) or WatermarkDrops.load(checkpoint)
        dropped = dropped_in_batch(progress)
        self.drops[query_name] = tally.add(checkpoint, progress["batchId"], dropped)
        log_event(
            logger,
            "batch_completed",
            query=query_name,
            batch=progress["batchId"],
            input_rows=progress.get("numInputRows", 0),
            rows_per_second=round(progress.get("processedRowsPerSecond") or 0.0, 1),
            duration_ms=progress.get("durationMs", {}).get("triggerExecution"),
            sink_ms=progress.get("durationMs", {}).get("addBatch"),
            watermark=progress.get("eventTime", {}).get("watermark"),
            dropped_by_watermark=dropped,
            dropped_by_watermark_total=self.drops[query_name].total,
            shards=batch_shard_lag(self.settings, progress, query_name),
        )


def current_batch_start(query: Any, query_started: float) -> tuple[float | None, int]:
    """When the batch now running began (epoch seconds; None when idle) and its id."""
    if not query.status.get("isTriggerActive"):
        return None, -1
    progress = query.lastProgress
    if not progress:
        return query_started, 0
    finished = datetime.fromisoformat(progress["timestamp"].replace("Z", "+00:00")).timestamp()
    return finished + (progress.get("durationMs", {}).get("triggerExecution") or 0) / 1000, progress["batchId"] + 1


def stop_between_batches(queries: list[Any], timeout_seconds: float = 30.0) -> None:
    """Stop the queries between micro-batches when possible (the checkpoint makes any stop safe)."""
    deadline = time.monotonic() + timeout_seconds
    pending = list(queries)
    while pending and time.monotonic() < deadline:
        for query in list(pending):
            if not query.isActive or not query.status.get("isTriggerActive"):
                query.stop()
                pending.remove(query)
        time.sleep(0.05)
    for query in pending:
        query.stop()


def run(settings: JobSettings) -> int:
    from jobs.pipeline import query_starters

    spark = build_spark(settings)
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log_event(logger, "stop_requested", signal=signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    starters = query_starters(spark, settings)
    queries = {name: start() for name, start in starters.items()}
    log_event(
        logger,
        "job_started",
        queries=list(queries),
        spark_ui=spark.sparkContext.uiWebUrl,
        outputs=[f"{settings.output_root}/{p}/" for p in OUTPUTS],
        checkpoints=settings.checkpoint_location,
        retry_deadline=str(settings.retry_deadline),
    )
    progress = ProgressReporter(settings)
    exit_code = supervise(settings, starters, queries, progress, stop_requested)
    progress.report(list(queries.values()))
    stop_between_batches([q for q in queries.values() if q.isActive])
    spark.stop()
    log_event(logger, "job_stopped", exit_code=exit_code)
    return exit_code


def failure_text(error: BaseException) -> str:
    """The error and its chain of causes: where 'Connection refused', a 500 or the endpoint show.

    A failed query's exception carries only Spark's summary (e.g. ``TASK_WRITE_FAILED``) in its
    message. pyspark keeps each cause as a captured exception (``_cause``) that holds either the
    JVM exception (``_origin``) or only the JVM's stack trace text (``_stackTrace``, whose "Caused
    by:" lines name the S3 or Kinesis error): both are read.
    """
    parts: list[str] = []
    current: Any = error
    while current is not None and len(parts) < _CAUSE_LINES:
        parts.append(str(current))
        trace = getattr(current, "_stackTrace", None)
        if isinstance(trace, str):
            parts.extend(line.strip() for line in trace.splitlines() if line.lstrip().startswith(_CAUSE_PREFIXES))
        java = getattr(current, "_origin", None)
        while java is not None and len(parts) < _CAUSE_LINES:
            try:
                parts.append(str(java.toString()))
                java = java.getCause()
            except Exception:  # the JVM is gone; what we have is enough
                break
        current = getattr(current, "_cause", None)
    return "\n".join(parts[:_CAUSE_LINES])


def supervise(
    settings: JobSettings,
    starters: dict[str, Callable[[], Any]],
    queries: dict[str, Any],
    progress: ProgressReporter,
    stop_requested: threading.Event,
) -> int:
    """Report progress until asked to stop or every query ends; restart queries an outage failed.

    Returns the job's exit code: 0 when stopped or drained (available-now), 1 when a query
    failed for good (``jobs.outage.OutageGuard`` logged why).
    """
    guard = OutageGuard(settings.retry_deadline, settings.aws)
    slow = SlowBatchWatch(
        max(_SLOW_BATCH_SECONDS, 3 * (settings.trigger.interval.seconds if settings.trigger.interval else 0)),
        f"{service_endpoint('kinesis', settings.aws)} or {service_endpoint('s3', settings.aws)}",
    )
    restart_at: dict[str, float] = {}
    started_at = dict.fromkeys(queries, time.time())
    while not stop_requested.wait(_POLL_SECONDS):
        for name in progress.report(list(queries.values())):
            guard.on_batch(name)
        now = time.monotonic()
        for name, query in queries.items():
            if query.isActive:
                slow.check(name, *current_batch_start(query, started_at[name]), now=time.time())
                continue
            if name in restart_at or query.exception() is None:
                continue
            backoff = guard.on_failure(name, failure_text(query.exception()))
            if backoff is None:
                return 1
            restart_at[name] = now + backoff
        for name, when in list(restart_at.items()):
            if now < when:
                continue
            del restart_at[name]
            try:  # starting reads the table and the checkpoint: it fails too while S3 is down
                queries[name], started_at[name] = starters[name](), time.time()
            except Exception as error:
                backoff = guard.on_failure(name, failure_text(error))
                if backoff is None:
                    return 1
                restart_at[name] = time.monotonic() + backoff
                continue
            log_event(logger, "query_restarted", query=name)
        if not restart_at and not any(q.isActive for q in queries.values()):
            return 0
    return 0


def main() -> int:
    try:
        settings = JobSettings.from_env()
        configure_logging(settings.log_level)
    except SettingError as error:
        print(f"article-job: invalid setting: {error}", file=sys.stderr)
        return 2
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
