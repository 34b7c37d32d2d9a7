"""The job's Prometheus metrics: Kinesis lag per shard, batches, tables, quarantine, outages.

One registry per job process (prometheus-client), served on ``JOB_METRICS_BIND`` by the driver.
The numbers come from where ``make status`` and the job's log lines get theirs: each completed
batch's progress report and the shard-position log (``jobs.progress_lines``), each articles
batch's write (``jobs.articles_writer``) and the outage guard (``jobs.outage``). Names follow
Prometheus' conventions: ``article_pipeline_`` prefix, base units (seconds, bytes), ``_total``
for counters. docs/operations.md lists them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from common.env import SettingError

PREFIX = "article_pipeline_"


def _counter(registry: CollectorRegistry, name: str, text: str, labels: tuple[str, ...]) -> Counter:
    return Counter(PREFIX + name, text, labels, registry=registry)


def _gauge(registry: CollectorRegistry, name: str, text: str, labels: tuple[str, ...] = ()) -> Gauge:
    return Gauge(PREFIX + name, text, labels, registry=registry)


@dataclass
class JobMetrics:
    """Every metric of the job on one registry; ``serve`` exposes it over HTTP."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        r = self.registry
        shard = ("query", "shard")
        self.millis_behind_latest = _gauge(
            r, "kinesis_millis_behind_latest", "How far the last batch's read of a shard stopped behind its tip", shard
        )
        self.records_read = _counter(r, "kinesis_records_read", "Records read from a shard", shard)
        self.bytes_read = _counter(
            r, "kinesis_read_bytes", "Bytes of data and partition keys read from a shard (what Kinesis counts)", shard
        )
        self.get_records_calls = _counter(r, "kinesis_get_records_calls", "GetRecords calls made on a shard", shard)
        self.subscribe_calls = _counter(
            r, "kinesis_subscribe_calls", "SubscribeToShard calls made on a shard (enhanced fan-out)", shard
        )
        self.read_retries = _counter(
            r, "kinesis_read_retries", "Calls retried while reading a shard (throttling, 5xx, connection errors)", shard
        )
        self.iterator_renewals = _counter(
            r,
            "kinesis_iterator_renewals",
            "Expired shard iterators renewed and subscriptions reopened while reading a shard",
            shard,
        )
        query = ("query",)
        self.last_batch = _gauge(
            r, "last_batch_completed_timestamp_seconds", "When a query last completed a batch (Unix time)", query
        )
        self.batch_duration = _gauge(r, "batch_duration_seconds", "How long a query's last batch took", query)
        self.batches = _counter(r, "batches", "Batches a query completed", query)
        self.input_rows = _counter(r, "input_rows", "Rows a query's batches read", query)
        self.watermark_dropped = _counter(
            r, "watermark_dropped_rows", "Rows a query's watermark dropped (older than a closed window)", query
        )
        self.state_rows = _gauge(r, "state_rows", "Rows in a query's state stores after its last batch", query)
        self.state_bytes = _gauge(r, "state_bytes", "Memory of a query's state stores after its last batch", query)
        table = ("table",)
        self.rows_appended = _counter(r, "table_rows_appended", "Rows appended to an output table", table)
        self.append_duration = _gauge(
            r, "table_append_duration_seconds", "How long the last append to a table took (Parquet + commit)", table
        )
        self.quarantined = _counter(r, "quarantined_rows", "Records put in quarantine, by reason", ("reason",))
        self.duplicates_dropped = _counter(
            r, "duplicates_dropped", "Copies of an article already kept (a re-sent article)", ()
        )
        self.outage = _gauge(r, "outage", "1 while an endpoint is unreachable or failing (queries restarting)", ())
        self.outage_started = _gauge(
            r, "outage_started_timestamp_seconds", "When the current outage began (Unix time; 0 without one)"
        )
        self.outage_deadline_remaining = _gauge(
            r, "outage_deadline_remaining_seconds", "Time left of RETRY_DEADLINE in the current outage (0 without one)"
        )
        self.outage_endpoint = _gauge(
            r, "outage_endpoint", "1 for the endpoint of the current outage (Kinesis or S3 at a URL)", ("endpoint",)
        )

    def batch_completed(
        self, query: str, progress: Mapping[str, Any], shards: Mapping[str, Mapping[str, Any]], dropped: int
    ) -> None:
        """Count one completed batch of ``query`` from its progress report and its shards' reads."""
        self.batches.labels(query).inc()
        self.last_batch.labels(query).set(self.clock())
        duration_ms = (progress.get("durationMs") or {}).get("triggerExecution")
        if duration_ms is not None:
            self.batch_duration.labels(query).set(duration_ms / 1000)
        self.input_rows.labels(query).inc(int(progress.get("numInputRows") or 0))
        self.watermark_dropped.labels(query).inc(dropped)
        operators = progress.get("stateOperators") or []
        if operators:
            self.state_rows.labels(query).set(sum(int(o.get("numRowsTotal") or 0) for o in operators))
            self.state_bytes.labels(query).set(sum(int(o.get("memoryUsedBytes") or 0) for o in operators))
        for shard, read in shards.items():
            if read.get("millis_behind_latest") is not None:
                self.millis_behind_latest.labels(query, shard).set(read["millis_behind_latest"])
            self.records_read.labels(query, shard).inc(int(read.get("records") or 0))
            self.bytes_read.labels(query, shard).inc(int(read.get("bytes") or 0))
            self.get_records_calls.labels(query, shard).inc(int(read.get("get_records_calls") or 0))
            self.subscribe_calls.labels(query, shard).inc(int(read.get("subscribe_calls") or 0))
            self.read_retries.labels(query, shard).inc(int(read.get("retries") or 0))
            self.iterator_renewals.labels(query, shard).inc(int(read.get("renewals") or 0))

    def articles_written(
        self,
        appended: Mapping[str, int],
        append_ms: Mapping[str, float],
        quarantined_by_reason: Mapping[str, int],
        duplicates_dropped: int,
    ) -> None:
        """Count one articles batch's appends (rows and milliseconds per table) and quarantine reasons."""
        for table, rows in appended.items():
            self.rows_appended.labels(table).inc(rows)
        for table, milliseconds in append_ms.items():
            self.append_duration.labels(table).set(milliseconds / 1000)
        for reason, rows in quarantined_by_reason.items():
            self.quarantined.labels(reason).inc(rows)
        self.duplicates_dropped.inc(duplicates_dropped)

    def outage_began(self, endpoint: str, started_at: float, deadline_at: float) -> None:
        """An endpoint failed: the outage (Unix times) shows until ``outage_ended``."""
        self.outage.set(1)
        self.outage_started.set(started_at)
        self.outage_endpoint.clear()
        self.outage_endpoint.labels(endpoint).set(1)
        self.outage_deadline_remaining.set_function(lambda: max(0.0, deadline_at - self.clock()))

    def outage_ended(self) -> None:
        self.outage.set(0)
        self.outage_started.set(0)
        self.outage_endpoint.clear()
        self.outage_deadline_remaining.set_function(lambda: 0.0)

    def serve(self, bind: str) -> Any:
        """Serve the registry at ``http://<bind>/metrics`` from a daemon thread; returns the server.

        Raises ``SettingError`` naming ``JOB_METRICS_BIND`` when the address cannot be bound.
        """
        host, _, port = bind.rpartition(":")
        try:
            server, _thread = start_http_server(int(port), addr=host.strip("[]"), registry=self.registry)
        except OSError as error:
            raise SettingError(f"JOB_METRICS_BIND={bind!r} cannot be served: {error}") from None
        return server
