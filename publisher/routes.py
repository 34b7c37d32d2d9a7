"""The publisher's HTTP API, as a Blueprint; ``create_app`` registers it.

``GET /health`` (readiness: 200 when the stream is reachable and publishing is not stalled,
else 503), ``GET /health/live`` (liveness: 200 while the process serves, even when Kinesis is
briefly down), ``GET /metrics`` (Prometheus), ``POST /articles`` (publish the given articles, validated against
the data contract; 400 with a JSON error when invalid; needs ``Authorization: Bearer`` with
``PUBLISHER_API_TOKEN``, 401 without it, 403 when no token is configured; bodies over
``MAX_REQUEST_BYTES`` get 413).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.exceptions import HTTPException

from common.contract import Rejection, parse_record
from publisher.metrics import PublisherMetrics
from publisher.service import PublisherService, encode

MAX_POSTED_ARTICLES = 500
# 500 articles of a few KB each fit easily; anything larger is refused (413) before it is read.
MAX_REQUEST_BYTES = 5 * 1024 * 1024
api = Blueprint("publisher", __name__)


@dataclass(frozen=True)
class Publisher:
    """What the routes serve: the publishing service, a stream probe, the metrics, the stream's name."""

    service: PublisherService
    stream_reachable: Callable[[], bool]
    metrics: PublisherMetrics
    stream_name: str
    api_token: str | None = None  # POST /articles requires it as a bearer token; None: the endpoint is off


def _publisher() -> Publisher:
    publisher: Publisher = current_app.extensions["publisher"]
    return publisher


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat() if epoch else None


@api.get("/health")
def health() -> tuple[Response, int]:
    publisher = _publisher()
    report = publisher.service.health(publisher.stream_reachable())
    body = {
        **report.body,
        "last_publish_time": _iso(report.body["last_publish_time"]),
        "stream": publisher.stream_name,
    }
    return jsonify(body), 200 if report.healthy else 503


@api.get("/health/live")
def live() -> tuple[Response, int]:
    return jsonify({"status": "alive"}), 200


@api.get("/metrics")
def prometheus() -> Response:
    return Response(generate_latest(_publisher().metrics.registry), mimetype=CONTENT_TYPE_LATEST)


def _posted_articles(payload: Any) -> list[Any] | None:
    if isinstance(payload, list):
        return payload
    return [payload] if isinstance(payload, dict) else None


def _refused() -> tuple[Response, int] | None:
    """401/403 unless the request carries the configured bearer token."""
    token = _publisher().api_token
    if token is None:
        return jsonify({"error": "POST /articles is disabled: set PUBLISHER_API_TOKEN to enable it"}), 403
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        response = jsonify({"error": "POST /articles needs the header 'Authorization: Bearer <PUBLISHER_API_TOKEN>'"})
        response.headers["WWW-Authenticate"] = "Bearer"
        return response, 401
    return None


@api.post("/articles")
def publish_articles() -> tuple[Response, int]:
    refused = _refused()
    if refused is not None:
        return refused
    articles = _posted_articles(request.get_json(silent=True))
    if articles is None:
        return jsonify({"error": "body must be a JSON article object or a list of them"}), 400
    if not 1 <= len(articles) <= MAX_POSTED_ARTICLES:
        return jsonify({"error": f"send between 1 and {MAX_POSTED_ARTICLES} articles per request"}), 400
    now = datetime.now(timezone.utc)
    for index, article in enumerate(articles):
        outcome = parse_record(json.dumps(article).encode(), now)
        if isinstance(outcome, Rejection):
            return jsonify({"error": outcome.detail, "reason": outcome.reason, "index": index}), 400
    writer = _publisher().service.writer
    if writer.put([encode(article) for article in articles]):
        return jsonify(
            {"error": "Kinesis did not accept the articles; retry later", "detail": writer.stats.last_error}
        ), 503
    return jsonify({"published": len(articles)}), 202


def json_error(error: HTTPException) -> tuple[Response, int]:
    """Every HTTP error as JSON: ``{"error": ..., "status": ...}``."""
    return jsonify({"error": error.description, "status": error.code}), error.code or 500
