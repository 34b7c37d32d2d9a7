"""The publisher's HTTP API, as a Blueprint; ``create_app`` registers it (docs/publisher-api.md).

``GET /health`` (readiness: 200 when the stream is reachable and publishing is not stalled,
else 503), ``GET /health/live`` (liveness: 200 while the process serves, even when Kinesis is
briefly down), ``GET /metrics`` (Prometheus), ``POST /articles``: publish the given articles,
validated against the data contract and sent as UTF-8 JSON. Needs ``Authorization: Bearer``
with the API token (401 without it, 403 when no token is configured, 503 while the token file
holds no valid token). 400 names the first invalid article; 413 names the articles over
Kinesis' 1 MiB record limit (nothing is sent), and bodies over ``MAX_REQUEST_BYTES`` get 413
too. 202 when Kinesis stored every article, else 503; both carry one result per article (shard
and sequence number, or an error code). Kinesis failures show as codes (``publisher.failures``),
never as upstream text, which goes to the log only.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException

from common.contract import DEFAULT_MAX_EVENT_TIME_LEAD, Rejection, parse_record
from publisher.api_token import ApiToken
from publisher.kinesis_writer import MAX_RECORD_BYTES, PutResult, Record
from publisher.metrics import PublisherMetrics
from publisher.service import PublishingLoop, article_data

MAX_POSTED_ARTICLES = 500
# 500 articles of a few KB each fit easily; anything larger is refused (413) before it is read.
MAX_REQUEST_BYTES = 5 * 1024 * 1024
api = Blueprint("publisher", __name__)


@dataclass(frozen=True)
class AppState:
    """What the routes serve for one app, kept in ``app.extensions["publisher"]`` by ``create_app``.

    The publishing loop, a stream probe (why the stream cannot be written to: a code, None while
    it can), the metrics, the stream's name and the ``POST /articles`` settings.
    """

    loop: PublishingLoop
    stream_error: Callable[[], str | None]
    metrics: PublisherMetrics
    stream_name: str
    api_token: ApiToken | None = None  # POST /articles requires it as a bearer token; None: the endpoint is off
    max_event_time_lead: timedelta = DEFAULT_MAX_EVENT_TIME_LEAD  # published_at further ahead of now: 400


def _state() -> AppState:
    state: AppState = current_app.extensions["publisher"]
    return state


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat() if epoch else None


@api.get("/health")
def health() -> tuple[Response, int]:
    state = _state()
    stream_error = state.stream_error()
    report = state.loop.health(stream_error is None)
    body = {
        **report.body,
        "last_publish_time": _iso(report.body["last_publish_time"]),
        "stream": state.stream_name,
        "stream_error": stream_error,
    }
    return jsonify(body), 200 if report.healthy else 503


@api.get("/health/live")
def live() -> tuple[Response, int]:
    return jsonify({"status": "alive"}), 200


@api.get("/metrics")
def prometheus() -> Response:
    return Response(generate_latest(_state().metrics.registry), mimetype=CONTENT_TYPE_LATEST)


def _posted_articles(payload: Any) -> list[Any] | None:
    if isinstance(payload, list):
        return payload
    return [payload] if isinstance(payload, dict) else None


def _refused() -> tuple[Response, int] | None:
    """401/403/503 unless the request carries the configured bearer token."""
    source = _state().api_token
    if source is None:
        return jsonify(
            {"error": "POST /articles is disabled: set PUBLISHER_API_TOKEN or PUBLISHER_API_TOKEN_FILE to enable it"}
        ), 403
    token = source.current()
    if token is None:
        return jsonify(
            {"error": "POST /articles is unavailable: PUBLISHER_API_TOKEN_FILE holds no valid token (see the log)"}
        ), 503
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        response = jsonify({"error": "POST /articles needs the header 'Authorization: Bearer <PUBLISHER_API_TOKEN>'"})
        response.headers["WWW-Authenticate"] = "Bearer"
        return response, 401
    return None


def _record(article: Any, now: datetime) -> Record | Rejection:
    """The Kinesis record of one posted article, or why the data contract refuses it."""
    try:
        data = article_data(article)
    except UnicodeEncodeError as error:
        return Rejection(
            "invalid_utf8", f"the article holds a lone surrogate, which UTF-8 cannot encode: {error.reason}"
        )
    outcome = parse_record(data, now, _state().max_event_time_lead)
    if isinstance(outcome, Rejection):
        return outcome
    return Record(partition_key=article["article_id"], data=data)


def _line(index: int, record: Record, result: PutResult) -> dict[str, Any]:
    """One article's line of the answer: where Kinesis stored it, or why it did not."""
    line: dict[str, Any] = {"index": index, "article_id": record.partition_key}
    if result.stored:
        return {**line, "status": "stored", "shard_id": result.shard_id, "sequence_number": result.sequence_number}
    return {**line, "status": "failed", "error_code": result.error_code}


def _records(articles: list[Any]) -> list[Record] | tuple[Response, int]:
    """The posted articles as Kinesis records, or the answer refusing them all: 400 (invalid) or 413 (oversized)."""
    now = datetime.now(timezone.utc)
    records: list[Record] = []
    for index, article in enumerate(articles):
        outcome = _record(article, now)
        if isinstance(outcome, Rejection):
            return jsonify({"error": outcome.detail, "reason": outcome.reason, "index": index}), 400
        records.append(outcome)
    oversized = [
        {"index": i, "bytes": record.size} for i, record in enumerate(records) if record.size > MAX_RECORD_BYTES
    ]
    if oversized:
        indices = ", ".join(str(entry["index"]) for entry in oversized)
        return jsonify(
            {
                "error": f"article(s) {indices} exceed Kinesis' record limit of {MAX_RECORD_BYTES} bytes "
                "(UTF-8 JSON plus article_id); nothing was published",
                "status": 413,
                "oversized": oversized,
                "limit_bytes": MAX_RECORD_BYTES,
            }
        ), 413
    return records


def _published(records: list[Record]) -> tuple[Response, int]:
    """Send ``records``: 202 when Kinesis stored every one, else 503; both with one result per article."""
    results = _state().loop.writer.put_each(records)
    lines = [_line(index, record, result) for index, (record, result) in enumerate(zip(records, results, strict=True))]
    failed = [line["index"] for line in lines if line["status"] == "failed"]
    if failed:
        return jsonify(
            {
                "error": f"Kinesis did not accept {len(failed)} of {len(records)} articles; resend only those in 'failed'",
                "published": len(records) - len(failed),
                "failed": failed,
                "results": lines,
            }
        ), 503
    return jsonify({"published": len(records), "results": lines}), 202


@api.post("/articles")
def publish_articles() -> tuple[Response, int]:
    """Publish the posted article or list of articles (see the module docstring for the answers)."""
    refused = _refused()
    if refused is not None:
        return refused
    articles = _posted_articles(request.get_json(silent=True))
    if articles is None:
        return jsonify({"error": "body must be a JSON article object or a list of them"}), 400
    if not 1 <= len(articles) <= MAX_POSTED_ARTICLES:
        return jsonify({"error": f"send between 1 and {MAX_POSTED_ARTICLES} articles per request"}), 400
    records = _records(articles)
    return records if isinstance(records, tuple) else _published(records)


def json_error(error: HTTPException) -> tuple[Response, int]:
    """Every HTTP error as JSON: ``{"error": ..., "status": ...}``."""
    return jsonify({"error": error.description, "status": error.code}), error.code or 500
