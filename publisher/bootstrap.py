"""Start-up of the publisher process: ``gunicorn 'publisher.bootstrap:build()'`` (see ``publisher.__main__``).

Reads the settings, configures logging, makes sure the stream and bucket exist, starts the
publishing thread (stopped and flushed at exit, within ``PUBLISHER_GRACEFUL_TIMEOUT``), then
hands the pieces to ``create_app``.
"""

from __future__ import annotations

import atexit
import logging

from flask import Flask
from prometheus_client import Gauge

from common.aws import client
from common.logs import configure_logging, log_event
from publisher.api_token import ApiToken, FixedToken, TokenFile
from publisher.app import create_app
from publisher.articles import ArticleGenerator
from publisher.kinesis_writer import KinesisWriter
from publisher.metrics import PublisherMetrics
from publisher.resources import StreamProbe, ensure_resources
from publisher.routes import AppState
from publisher.service import PublishingLoop
from publisher.settings import PublisherSettings

logger = logging.getLogger("publisher.bootstrap")
# A short retry deadline keeps the publishing loop responsive; unsent articles stay buffered.
_WRITER_RETRY_DEADLINE_SECONDS = 2.0
# The flush at exit ends this long before gunicorn's graceful timeout kills the worker, so the
# worker still logs what stayed unsent and exits by itself.
_EXIT_MARGIN_SECONDS = 1.0


def api_token(settings: PublisherSettings) -> ApiToken | None:
    """The token ``POST /articles`` requires: from its file (read again when it changes), fixed, or none (off)."""
    if settings.api_token_file is not None:
        return TokenFile(settings.api_token_file)
    return None if settings.api_token is None else FixedToken(settings.api_token)


def build(settings: PublisherSettings | None = None) -> Flask:
    """Create stream and bucket, start publishing, return the app (``settings`` default: the environment)."""
    settings = settings or PublisherSettings.from_env()
    configure_logging(settings.log_level)
    kinesis = client("kinesis", settings.aws, connect_timeout=2, read_timeout=5)
    ensure_resources(kinesis, client("s3", settings.aws), settings)
    metrics = PublisherMetrics.create()
    writer = KinesisWriter(
        kinesis,
        settings.stream_name,
        retry_deadline_seconds=_WRITER_RETRY_DEADLINE_SECONDS,
        on_call=metrics.observe_call,
    )
    loop = PublishingLoop(ArticleGenerator(settings.seed, settings.authors), writer, settings.rate, settings.count)
    Gauge(
        "article_records_throttled", "Records rejected by Kinesis throttling", registry=metrics.registry
    ).set_function(lambda: writer.stats.throttled)
    metrics.buffered.set_function(lambda: loop.buffered)
    app = create_app(
        AppState(
            loop,
            StreamProbe(kinesis, settings.stream_name).error,
            metrics,
            settings.stream_name,
            api_token=api_token(settings),
            max_event_time_lead=settings.max_event_time_lead.as_timedelta,
        )
    )
    loop.start()
    atexit.register(loop.stop, settings.graceful_timeout.seconds - _EXIT_MARGIN_SECONDS)
    log_event(
        logger,
        "publisher_started",
        stream=settings.stream_name,
        rate=settings.rate,
        count=settings.count,
        endpoint=settings.aws.endpoint_url,
    )
    return app
