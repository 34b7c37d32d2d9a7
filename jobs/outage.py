"""Riding out an outage of Kinesis or S3: restart a failed query from its checkpoint until ``RETRY_DEADLINE``.

Short failures never get here: boto3 (Kinesis, inside the source's ``call_with_retries``) and
S3A (its retry policy) retry them within the batch. A longer outage fails the batch and the
query stops with the error. ``OutageGuard`` decides what happens next:

- the error says an endpoint was unreachable, slow or failing (connection refused, timeouts,
  HTTP 5xx, throttling): the query is restarted from its checkpoint after a full-jitter
  backoff, with a log line per retry, until the outage has lasted ``RETRY_DEADLINE``;
- anything else (a deleted stream, a permission, a bug), or an outage past the deadline, ends
  the job with a message naming the endpoint, so Kubernetes' restart policy takes over.

A restart is safe because the checkpoint says which batch comes next and both table appends
are idempotent per batch (``txnAppId``/``txnVersion``): nothing is lost or written twice.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from common.aws import full_jitter_backoff
from common.env import Duration
from common.logs import log_event
from common.settings import AwsSettings
from jobs.job_metrics import JobMetrics

logger = logging.getLogger("jobs.outage")

# What an unreachable, slow or failing endpoint looks like in a query's error (the JVM's S3A and
# the AWS SDK, botocore in the Kinesis source's tasks, urllib3).
TRANSIENT_MARKERS = (
    "Connection refused",
    "ConnectException",
    "ConnectTimeout",
    "Connect timeout",
    "SocketTimeoutException",
    "Read timed out",
    "ReadTimeoutError",
    "EndpointConnectionError",
    "Connection reset",
    "NoHttpResponseException",
    "Unable to execute HTTP request",
    "HttpChannelEOFException",
    "AWSClientIOException",
    "AWSStatus500Exception",
    "AWSServiceThrottledException",
    "ServiceUnavailable",
    "Service Unavailable",
    "SlowDown",
    "InternalError",
    "Status Code: 500",
    "Status Code: 503",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
)
# The Kinesis source already retried for the whole deadline before raising this.
_SOURCE_DEADLINE_MARKER = "retryDeadlineSeconds="
_BACKOFF_BASE_SECONDS = 1.0
_BACKOFF_CAP_SECONDS = 15.0


def is_transient(error: str) -> bool:
    return _SOURCE_DEADLINE_MARKER not in error and any(marker in error for marker in TRANSIENT_MARKERS)


def service_endpoint(service: str, aws: AwsSettings) -> str:
    """'Kinesis at <url>' or 'S3 at <url>': the emulator's endpoint, or AWS's regional one."""
    endpoint = aws.endpoint_for(service) or f"https://{service}.{aws.region}.amazonaws.com"
    return f"{'S3' if service == 's3' else 'Kinesis'} at {endpoint}"


def endpoint_of(error: str, aws: AwsSettings) -> str:
    """Which endpoint an error is about: S3 when S3A or an s3:// path shows in it, else Kinesis."""
    s3 = any(hint in error for hint in ("s3a", "S3A", "s3://", "Amazon S3"))
    return service_endpoint("s3" if s3 else "kinesis", aws)


@dataclass
class OutageGuard:
    """Decides, per failed query, whether to restart it (and when) or to give up."""

    deadline: Duration
    aws: AwsSettings
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    started: float | None = None  # when the current outage was first seen
    retries: int = 0
    metrics: JobMetrics = field(default_factory=JobMetrics)
    wall_clock: Callable[[], float] = time.time

    def on_failure(self, query: str, error: str) -> float | None:
        """Seconds to wait before restarting ``query``, or None: the job must fail (logged with the reason)."""
        now = self.clock()
        where = endpoint_of(error, self.aws)
        if not is_transient(error):
            log_event(logger, "query_failed", logging.ERROR, query=query, endpoint=where, error=error[:4000])
            return None
        if self.started is None:
            self.started = now
            began = self.wall_clock()
            self.metrics.outage_began(where, began, began + self.deadline.seconds)
        lasted = now - self.started
        if lasted >= self.deadline.seconds:
            log_event(
                logger,
                "outage_deadline_passed",
                logging.ERROR,
                query=query,
                endpoint=where,
                outage_seconds=round(lasted, 1),
                retries=self.retries,
                message=f"{where} has been unreachable or failing for {lasted:.0f} s, longer than RETRY_DEADLINE "
                f"({self.deadline}); the job stops (Kubernetes restarts it from the checkpoint). Last error: "
                f"{error[:1500]}",
            )
            return None
        self.retries += 1
        backoff = min(
            self.deadline.seconds - lasted,
            max(0.5, full_jitter_backoff(self.retries, self.rng, _BACKOFF_BASE_SECONDS, _BACKOFF_CAP_SECONDS)),
        )
        log_event(
            logger,
            "outage_retry",
            logging.WARNING,
            query=query,
            endpoint=where,
            attempt=self.retries,
            outage_seconds=round(lasted, 1),
            deadline=str(self.deadline),
            restart_in_s=round(backoff, 2),
            error=_first_line(error),
        )
        return backoff

    def on_batch(self, query: str) -> None:
        """A batch completed: an outage in progress is over."""
        if self.started is None:
            return
        log_event(
            logger,
            "outage_recovered",
            query=query,
            outage_seconds=round(self.clock() - self.started, 1),
            retries=self.retries,
        )
        self.started, self.retries = None, 0
        self.metrics.outage_ended()


def _first_line(error: str) -> str:
    """The line of a long JVM/Python error that says what failed (the first one with a marker)."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    marked = [line for line in lines if any(marker in line for marker in TRANSIENT_MARKERS)]
    return (marked or lines or [""])[0][:500]


@dataclass
class SlowBatchWatch:
    """One ``batch_slow`` line when a query's current batch has run longer than ``threshold_seconds``.

    A frozen or very slow endpoint does not fail a request until its timeout (S3A waits minutes
    for a response): this line says so while it happens, naming the endpoints. A long backlog or
    a compaction round makes a batch slow too; the line says that as well.
    """

    threshold_seconds: float
    endpoints: str
    warned: set[tuple[str, int]] = field(default_factory=set)

    def check(self, query: str, batch_started: float | None, next_batch: int, now: float) -> None:
        if batch_started is None or (query, next_batch) in self.warned:
            return
        running = now - batch_started
        if running > self.threshold_seconds:
            self.warned.add((query, next_batch))
            log_event(
                logger,
                "batch_slow",
                logging.WARNING,
                query=query,
                batch=next_batch,
                running_s=round(running, 1),
                message=f"batch {next_batch} of {query} has run {running:.0f} s: a large backlog or a compaction, "
                f"or {self.endpoints} slow or unreachable (outage_retry lines follow if it fails)",
            )
