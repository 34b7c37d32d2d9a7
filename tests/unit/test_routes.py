"""The publisher's HTTP API without AWS: request validation, JSON errors, probes (nothing is published)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from publisher.api_token import FixedToken
from publisher.app import create_app
from publisher.articles import ArticleGenerator
from publisher.kinesis_writer import KinesisWriter
from publisher.metrics import PublisherMetrics
from publisher.routes import MAX_POSTED_ARTICLES, MAX_REQUEST_BYTES, AppState
from publisher.service import PublishingLoop

pytestmark = pytest.mark.unit
VALID = {
    "article_id": "0b7a9c3e-7a0a-4a57-9f57-0e8c2f1f8d11",
    "author": "Ada",
    "body": "three words here",
    "published_at": "2026-01-01T00:00:00Z",
}


TOKEN = "a-token-nobody-guesses"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def api(reachable: bool = True, token: str | None = TOKEN) -> tuple[FlaskClient, PublishingLoop]:
    """The app around a loop that is never started and a writer without a client: no request may reach it."""
    loop = PublishingLoop(ArticleGenerator(seed=1), KinesisWriter(None, "articles"), rate=1.0, count=0)
    state = AppState(
        loop,
        lambda: None if reachable else "ResourceNotFoundException",
        PublisherMetrics.create(),
        "articles",
        api_token=None if token is None else FixedToken(token),
    )
    app = create_app(state)
    return app.test_client(), loop


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({**VALID, "article_id": "x"}, "invalid_article_id"),
        ({**VALID, "body": "  "}, "empty_body"),
        ({k: v for k, v in VALID.items() if k != "author"}, "missing_field"),
        ([VALID, {**VALID, "published_at": "yesterday"}], "unparseable_timestamp"),
    ],
)
def test_invalid_articles_get_400_with_the_contract_reason(body: Any, reason: str) -> None:
    http, loop = api()
    response = http.post("/articles", json=body, headers=AUTH)
    assert response.status_code == 400
    payload = response.get_json()
    assert payload["reason"] == reason and payload["error"]
    assert payload["index"] == (1 if isinstance(body, list) else 0)
    assert loop.writer.stats.published == 0 and loop.writer.stats.last_error is None


def test_malformed_requests_get_json_errors() -> None:
    http, _ = api()
    assert http.post("/articles", data="not json", content_type="application/json", headers=AUTH).status_code == 400
    assert http.post("/articles", json=[], headers=AUTH).status_code == 400
    too_many = http.post("/articles", json=[VALID] * (MAX_POSTED_ARTICLES + 1), headers=AUTH)
    assert too_many.status_code == 400 and str(MAX_POSTED_ARTICLES) in too_many.get_json()["error"]
    missing = http.get("/nope")
    assert missing.status_code == 404 and missing.get_json()["status"] == 404 and missing.get_json()["error"]
    assert http.delete("/health").status_code == 405


def test_health_follows_the_stream_probe_and_liveness_does_not() -> None:
    http, _ = api(reachable=False)
    health = http.get("/health")
    assert health.status_code == 503
    assert health.get_json()["stream_reachable"] is False and health.get_json()["stream"] == "articles"
    assert health.get_json()["stream_error"] == "ResourceNotFoundException"
    assert http.get("/health/live").status_code == 200
    assert http.get("/metrics").status_code == 200 and b"articles_buffered" in http.get("/metrics").data
    reachable, _ = api(reachable=True)
    assert reachable.get("/health").status_code == 200 and reachable.get("/health").get_json()["stream_error"] is None


def test_posting_needs_the_token_and_is_off_without_one() -> None:
    http, loop = api()
    missing = http.post("/articles", json=VALID)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert "PUBLISHER_API_TOKEN" in missing.get_json()["error"]
    assert http.post("/articles", json=VALID, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.post("/articles", json=VALID, headers={"Authorization": TOKEN}).status_code == 401
    disabled, _ = api(token=None)
    off = disabled.post("/articles", json=VALID, headers=AUTH)
    assert off.status_code == 403 and "set PUBLISHER_API_TOKEN or PUBLISHER_API_TOKEN_FILE" in off.get_json()["error"]
    assert disabled.get("/health/live").status_code == 200 and disabled.get("/metrics").status_code == 200
    assert loop.writer.stats.published == 0 and loop.writer.stats.last_error is None


def test_an_article_over_the_kinesis_record_limit_gets_413_naming_it_and_nothing_is_sent() -> None:
    http, loop = api()
    # 400,000 characters of 3 bytes each in UTF-8: 1.2 MB, over Kinesis' 1 MiB a record.
    oversized = {**VALID, "article_id": "6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5", "body": "東" * 400_000}
    response = http.post("/articles", json=[VALID, oversized, VALID], headers=AUTH)
    assert response.status_code == 413
    payload = response.get_json()
    assert payload["oversized"] == [{"index": 1, "bytes": pytest.approx(1_200_000, abs=300)}]
    assert payload["limit_bytes"] == 1_048_576 and "1048576" in payload["error"]
    assert loop.writer.stats.published == 0 and loop.writer.stats.last_error is None, "nothing was sent"


def test_an_article_dated_further_ahead_than_the_event_time_lead_gets_400() -> None:
    from datetime import datetime, timedelta, timezone

    client, loop = api()
    ahead = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    response = client.post("/articles", json={**VALID, "published_at": ahead}, headers=AUTH)
    assert response.status_code == 400 and "event_time_ahead" in response.get_data(as_text=True)
    assert loop.buffered == 0


def test_a_lone_surrogate_gets_400_as_text_utf8_cannot_carry() -> None:
    http, loop = api()
    response = http.post(
        "/articles",
        data=b'{"article_id": "%s", "author": "A", "body": "\\ud800", "published_at": "2026-01-01T00:00:00Z"}'
        % VALID["article_id"].encode(),
        content_type="application/json",
        headers=AUTH,
    )
    assert response.status_code == 400 and response.get_json()["reason"] == "invalid_utf8"
    assert loop.writer.stats.last_error is None


def test_oversized_requests_get_413_as_json() -> None:
    http, _ = api()
    response = http.post(
        "/articles", data=b"[" + b" " * MAX_REQUEST_BYTES + b"]", content_type="application/json", headers=AUTH
    )
    assert response.status_code == 413 and response.get_json()["status"] == 413
