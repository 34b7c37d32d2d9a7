"""The publisher's HTTP answers as a metric: ``publisher_http_responses_total{method, route, code}``.

Counted once per answer by the app ``create_app`` builds, on the registry ``/metrics`` serves: every
route (probes and scrapes too), the URL rule as ``route`` (never the raw path), ``unmatched`` when no
rule matched, and the 500 of an unhandled exception.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from publisher.api_token import FixedToken
from publisher.app import create_app
from publisher.articles import ArticleGenerator
from publisher.kinesis_writer import KinesisWriter
from publisher.metrics import PublisherMetrics
from publisher.routes import AppState
from publisher.service import PublishingLoop

pytestmark = pytest.mark.unit

METRIC = "publisher_http_responses_total"
TOKEN = "a-token-nobody-guesses"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
VALID = {
    "article_id": "0b7a9c3e-7a0a-4a57-9f57-0e8c2f1f8d11",
    "author": "Ada",
    "body": "three words here",
    "published_at": "2026-01-01T00:00:00Z",
}


class Kinesis:
    """PutRecords that stores every record, or fails every call as an unreachable endpoint would."""

    def __init__(self, reachable: bool = True) -> None:
        self.reachable = reachable

    def put_records(self, **call: Any) -> Any:
        if not self.reachable:
            raise ConnectionError("Kinesis is down")
        return {"Records": [{"ShardId": "shardId-0", "SequenceNumber": str(n)} for n, _ in enumerate(call["Records"])]}


def never_reached() -> str | None:
    return None


def app(
    kinesis: Kinesis | None = None, stream_error: Callable[[], str | None] = never_reached
) -> tuple[FlaskClient, PublisherMetrics]:
    """The app around a loop that is never started; its writer gives up at once on a failed call."""
    writer = KinesisWriter(kinesis or Kinesis(), "articles", retry_deadline_seconds=0, sleep=lambda _: None)
    metrics = PublisherMetrics.create()
    loop = PublishingLoop(ArticleGenerator(seed=1), writer, rate=1.0, count=0)
    state = AppState(loop, stream_error, metrics, "articles", api_token=FixedToken(TOKEN))
    return create_app(state).test_client(), metrics


def count(metrics: PublisherMetrics, method: str, route: str, code: int) -> float:
    value = metrics.registry.get_sample_value(METRIC, {"method": method, "route": route, "code": str(code)})
    return value or 0.0


def samples(metrics: PublisherMetrics) -> list[Sample]:
    """Every sample of the counter, as the registry ``/metrics`` serves has them."""
    return [sample for family in metrics.registry.collect() for sample in family.samples if sample.name == METRIC]


def total(metrics: PublisherMetrics) -> float:
    return sum(sample.value for sample in samples(metrics))


def test_each_answer_is_counted_once_by_method_route_and_code() -> None:
    http, metrics = app()
    assert http.get("/health").status_code == 200
    assert http.get("/health").status_code == 200
    assert http.get("/health/live").status_code == 200
    assert http.post("/articles", json=VALID, headers=AUTH).status_code == 202
    assert count(metrics, "GET", "/health", 200) == 2
    assert count(metrics, "GET", "/health/live", 200) == 1
    assert count(metrics, "POST", "/articles", 202) == 1
    assert total(metrics) == 4


def test_a_bad_token_is_a_401_of_the_articles_route() -> None:
    http, metrics = app()
    assert http.post("/articles", json=VALID, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.post("/articles", json=VALID).status_code == 401
    assert count(metrics, "POST", "/articles", 401) == 2 and total(metrics) == 2


def test_kinesis_failing_is_a_503_of_the_articles_route_and_of_readiness() -> None:
    http, metrics = app(Kinesis(reachable=False), stream_error=lambda: "kinesis_unreachable")
    response = http.post("/articles", json=VALID, headers=AUTH)
    assert response.status_code == 503 and response.get_json()["failed"] == [0]
    assert http.get("/health").status_code == 503
    assert count(metrics, "POST", "/articles", 503) == 1
    assert count(metrics, "GET", "/health", 503) == 1


def test_unknown_paths_share_one_route_value_never_the_raw_path() -> None:
    http, metrics = app()
    for path in ("/nope", "/health/../x", "/articles/123", "/wp-login.php"):
        assert http.get(path).status_code == 404
    assert http.delete("/health").status_code == 405  # a path with a rule, but not for DELETE
    assert count(metrics, "GET", "unmatched", 404) == 4
    assert count(metrics, "DELETE", "unmatched", 405) == 1
    assert {sample.labels["route"] for sample in samples(metrics)} == {"unmatched"}


def test_an_unknown_method_is_one_value_too() -> None:
    http, metrics = app()
    assert http.open("/health", method="BREW").status_code == 405
    assert http.open("/nope", method="X-ANYTHING").status_code == 404
    assert count(metrics, "other", "unmatched", 405) == 1 and count(metrics, "other", "unmatched", 404) == 1


def test_an_unhandled_exception_is_counted_as_the_500_it_answers() -> None:
    def probe_with_a_bug() -> str | None:
        raise RuntimeError("a bug in the stream probe")

    http, metrics = app(stream_error=probe_with_a_bug)
    response = http.get("/health")
    assert response.status_code == 500 and response.get_json()["status"] == 500
    assert count(metrics, "GET", "/health", 500) == 1 and total(metrics) == 1


def test_metrics_serves_the_counter_and_counts_its_own_scrapes() -> None:
    http, metrics = app()
    http.get("/health/live")
    first = http.get("/metrics")
    assert first.status_code == 200
    families = {family.name: family for family in text_string_to_metric_families(first.get_data(as_text=True))}
    family = families["publisher_http_responses"]
    assert family.type == "counter" and family.documentation
    served = {(s.labels["method"], s.labels["route"], s.labels["code"]): s.value for s in family.samples}
    assert served[("GET", "/health/live", "200")] == 1
    http.get("/metrics")
    assert count(metrics, "GET", "/metrics", 200) == 2
