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
from typing import Any

from common.contract import OUTPUTS
from common.env import SettingError
from common.logs import configure_logging, log_event
from jobs.job_metrics import JobMetrics
from jobs.progress_lines import ProgressReporter
from jobs.settings import JobSettings
from jobs.supervisor import stop_between_batches, supervise

logger = logging.getLogger("jobs.process_articles")


def build_spark(settings: JobSettings) -> Any:
    """The job's SparkSession (``jobs.spark_session``) for ``settings``."""
    from jobs.spark_session import build_session

    return build_session(
        settings.app_name,
        settings.aws,
        master=settings.spark_master_url,
        shuffle_partitions=settings.shuffle_partitions,
    )


def run(settings: JobSettings, metrics: JobMetrics | None = None) -> int:
    """Start both queries, supervise them until stopped or failed for good, stop them; the exit code.

    ``metrics`` (served by the caller on ``JOB_METRICS_BIND``) counts what the queries do.

    Returns
    -------
    int
        0 when stopped (SIGTERM, Ctrl-C) or drained (available-now), 1 when a query failed for
        good (``jobs.supervisor.supervise``).
    """
    from jobs.queries import query_starters

    spark = build_spark(settings)
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log_event(logger, "stop_requested", signal=signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    metrics = metrics or JobMetrics()
    starters = query_starters(spark, settings, metrics=metrics)
    queries = {name: start() for name, start in starters.items()}
    log_event(
        logger,
        "job_started",
        queries=list(queries),
        spark_ui=spark.sparkContext.uiWebUrl,
        outputs=[f"{settings.output_root}/{p}/" for p in OUTPUTS],
        checkpoints=settings.checkpoint_location,
        retry_deadline=str(settings.retry_deadline),
        metrics=f"http://{settings.metrics_bind}/metrics" if settings.metrics_bind else None,
    )
    progress = ProgressReporter(settings, metrics=metrics)
    exit_code = supervise(settings, starters, queries, progress, stop_requested)
    progress.report(list(queries.values()))
    stop_between_batches([q for q in queries.values() if q.isActive])
    spark.stop()
    log_event(logger, "job_stopped", exit_code=exit_code)
    return exit_code


def main() -> int:
    """The ``article-job`` command: settings from the environment, then ``run``; 2 on an invalid setting."""
    try:
        settings = JobSettings.from_env()
        configure_logging(settings.log_level)
        metrics = JobMetrics()
        if settings.metrics_bind:
            metrics.serve(settings.metrics_bind)
    except SettingError as error:
        print(f"article-job: invalid setting: {error}", file=sys.stderr)
        return 2
    return run(settings, metrics)


if __name__ == "__main__":
    sys.exit(main())
