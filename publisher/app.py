"""The Flask app factory: ``gunicorn 'publisher.app:create_app()'``.

Routes: ``GET /health`` (readiness: 200 when the stream is reachable and publishing is not
stalled, else 503), ``GET /health/live`` (liveness: 200 while the process serves, even when
Kinesis is briefly down), ``GET /metrics`` (Prometheus), ``POST /articles`` (publish given
articles, validated against the data contract; 400 with a JSON error when invalid).
"""
from __future__ import annotations

import atexit
import json
import logging
import time
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from werkzeug.exceptions import HTTPException

from common.aws import client
from common.logs import configure_logging, log_event
from jobs.parsing import Rejection, parse_record
from publisher.articles import ArticleGenerator
from publisher.kinesis_writer import KinesisWriter
from publisher.metrics import PublisherMetrics
from publisher.resources import ensure_resources
from publisher.service import PublisherService, encode
from publisher.settings import PublisherSettings

logger = logging.getLogger("publisher.app")
_REACHABILITY_CACHE_SECONDS = 2.0
MAX_POSTED_ARTICLES = 500


class StreamProbe:
    """Whether the stream answers DescribeStreamSummary, cached briefly so probes stay cheap."""

    def __init__(self, kinesis: Any, stream_name: str) -> None:
        self.kinesis = kinesis
        self.stream_name = stream_name
        self._checked_at = 0.0
        self._reachable = False

    def reachable(self) -> bool:
        if time.monotonic() - self._checked_at > _REACHABILITY_CACHE_SECONDS:
            try:
                summary = self.kinesis.describe_stream_summary(StreamName=self.stream_name)
                self._reachable = summary["StreamDescriptionSummary"]["StreamStatus"] in ("ACTIVE", "UPDATING")
            except Exception:  # noqa: BLE001 - any failure means "not reachable" for the probe
                self._reachable = False
            self._checked_at = time.monotonic()
        return self._reachable


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat() if epoch else None


def create_app(settings: PublisherSettings | None = None) -> Flask:
    """Build the app: validate settings, create stream and bucket, start the publishing thread."""
    settings = settings or PublisherSettings.from_env()
    configure_logging(settings.log_level)
    kinesis = client("kinesis", settings.aws, connect_timeout=2, read_timeout=5)
    ensure_resources(kinesis, client("s3", settings.aws), settings.stream_name, settings.shard_count,
                     settings.bucket_name, settings.aws.region, settings.aws.endpoint_url,
                     settings.startup_timeout_seconds)
    metrics = PublisherMetrics.create()
    # A short retry deadline keeps the publishing loop responsive; unsent articles stay buffered.
    writer = KinesisWriter(kinesis, settings.stream_name, retry_deadline_seconds=2.0, on_call=metrics.observe_call)
    service = PublisherService(ArticleGenerator(settings.seed, settings.authors), writer, settings.rate, settings.count)
    probe = StreamProbe(kinesis, settings.stream_name)
    Gauge("article_records_throttled", "Records rejected by Kinesis throttling", registry=metrics.registry) \
        .set_function(lambda: writer.stats.throttled)
    metrics.buffered.set_function(lambda: service.buffered)

    app = Flask(__name__)
    app.extensions["publisher"] = service

    @app.get("/health")
    def health() -> tuple[Response, int]:
        report = service.health(probe.reachable())
        body = {**report.body, "last_publish_time": _iso(report.body["last_publish_time"]),
                "stream": settings.stream_name}
        return jsonify(body), 200 if report.healthy else 503

    @app.get("/health/live")
    def live() -> tuple[Response, int]:
        return jsonify({"status": "alive"}), 200

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), mimetype=CONTENT_TYPE_LATEST)

    @app.post("/articles")
    def publish_articles() -> tuple[Response, int]:
        payload = request.get_json(silent=True)
        articles = payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else None
        if articles is None:
            return jsonify({"error": "body must be a JSON article object or a list of them"}), 400
        if not 1 <= len(articles) <= MAX_POSTED_ARTICLES:
            return jsonify({"error": f"send between 1 and {MAX_POSTED_ARTICLES} articles per request"}), 400
        now = datetime.now(timezone.utc)
        for index, article in enumerate(articles):
            outcome = parse_record(json.dumps(article).encode(), now)
            if isinstance(outcome, Rejection):
                return jsonify({"error": outcome.detail, "reason": outcome.reason, "index": index}), 400
        unsent = writer.put([encode(article) for article in articles])
        if unsent:
            return jsonify({"error": "Kinesis did not accept the articles; retry later",
                            "detail": writer.stats.last_error}), 503
        return jsonify({"published": len(articles)}), 202

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        return jsonify({"error": error.description, "status": error.code}), error.code or 500

    service.start()
    atexit.register(service.stop)
    log_event(logger, "publisher_started", stream=settings.stream_name, rate=settings.rate, count=settings.count,
              endpoint=settings.aws.endpoint_url)
    return app
