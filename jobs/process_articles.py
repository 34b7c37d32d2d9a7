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
from typing import Any

from common.contract import OUTPUTS
from common.logs import configure_logging, log_event
from common.settings import SettingError
from jobs.settings import JobSettings

logger = logging.getLogger("jobs.process_articles")
_POLL_SECONDS = 1.0


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


def report_progress(settings: JobSettings, queries: list[Any], seen: dict[str, int]) -> None:
    for query in queries:
        progress = query.lastProgress
        if not progress or seen.get(query.name) == progress["batchId"]:
            continue
        seen[query.name] = progress["batchId"]
        log_event(
            logger,
            "batch_completed",
            query=query.name,
            batch=progress["batchId"],
            input_rows=progress.get("numInputRows", 0),
            rows_per_second=round(progress.get("processedRowsPerSecond") or 0.0, 1),
            duration_ms=progress.get("durationMs", {}).get("triggerExecution"),
            sink_ms=progress.get("durationMs", {}).get("addBatch"),
            watermark=progress.get("eventTime", {}).get("watermark"),
            shards=batch_shard_lag(settings, progress, query.name),
        )


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
    from jobs.pipeline import start_queries

    spark = build_spark(settings)
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log_event(logger, "stop_requested", signal=signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    queries = start_queries(spark, settings)
    log_event(
        logger,
        "job_started",
        queries=[q.name for q in queries],
        spark_ui=spark.sparkContext.uiWebUrl,
        outputs=[f"{settings.output_root}/{p}/" for p in OUTPUTS],
        checkpoints=settings.checkpoint_location,
    )
    seen: dict[str, int] = {}
    exit_code = 0
    while not stop_requested.wait(_POLL_SECONDS):
        report_progress(settings, queries, seen)
        failed = [q for q in queries if not q.isActive and q.exception() is not None]
        if failed:
            for query in failed:
                log_event(logger, "query_failed", logging.ERROR, query=query.name, error=str(query.exception())[:4000])
            exit_code = 1
            break
        if all(not q.isActive for q in queries):
            break
    report_progress(settings, queries, seen)
    stop_between_batches(queries)
    spark.stop()
    log_event(logger, "job_stopped", exit_code=exit_code)
    return exit_code


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
