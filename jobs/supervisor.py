"""The job's supervision loop: progress lines, slow batches, restarts of failed queries, a clean stop.

What to do about a failure (restart after a backoff, or give up) is ``jobs.outage``'s decision;
this loop applies it: it restarts a query from its checkpoint with the starter ``jobs.queries``
made for it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from common.logs import log_event
from jobs.jvm_errors import failure_text
from jobs.outage import OutageGuard, SlowBatchWatch, service_endpoint
from jobs.progress_lines import ProgressReporter
from jobs.settings import JobSettings

logger = logging.getLogger("jobs.supervisor")
_POLL_SECONDS = 1.0
# A batch running longer than this (or 3 trigger intervals) is logged as slow (batch_slow).
_SLOW_BATCH_SECONDS = 20.0


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


def supervise(
    settings: JobSettings,
    starters: dict[str, Callable[[], Any]],
    queries: dict[str, Any],
    progress: ProgressReporter,
    stop_requested: threading.Event,
) -> int:
    """Report progress until asked to stop or every query ends; restart queries an outage failed.

    Parameters
    ----------
    settings : JobSettings
        ``RETRY_DEADLINE``, the trigger interval and the AWS endpoints named in slow-batch lines.
    starters : dict
        Per query name, the function that starts the query from its checkpoint
        (``jobs.queries.query_starters``).
    queries : dict
        Per query name, the running query; a restarted query replaces its entry.
    progress : ProgressReporter
        Logs each completed batch.
    stop_requested : threading.Event
        Set (by a signal handler) to stop.

    Returns
    -------
    int
        The job's exit code: 0 when stopped or drained (available-now), 1 when a query failed for
        good (``jobs.outage.OutageGuard`` logged why).
    """
    guard = OutageGuard(settings.retry_deadline, settings.aws, metrics=progress.metrics)
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
