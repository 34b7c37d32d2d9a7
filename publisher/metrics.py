"""Prometheus metrics of the publisher, on a registry of its own (one per app)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class PublisherMetrics:
    registry: CollectorRegistry
    published: Counter
    failed: Counter
    put_latency: Histogram
    buffered: Gauge
    http_responses: Counter

    @classmethod
    def create(cls) -> PublisherMetrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            published=Counter("articles_published", "Articles Kinesis accepted", registry=registry),
            failed=Counter(
                "article_records_failed", "Records a PutRecords call did not accept (retried)", registry=registry
            ),
            put_latency=Histogram(
                "put_records_seconds",
                "PutRecords call latency",
                registry=registry,
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            ),
            buffered=Gauge("articles_buffered", "Articles generated and waiting to be published", registry=registry),
            http_responses=Counter(
                "publisher_http_responses",
                "HTTP responses of the publisher's API by method, route (URL rule) and status code",
                ("method", "route", "code"),
                registry=registry,
            ),
        )

    def observe_call(self, seconds: float, accepted: int, failed: int) -> None:
        self.put_latency.observe(seconds)
        self.published.inc(accepted)
        self.failed.inc(failed)
