"""The publishing loop: generate articles at a steady rate, buffer, flush with PutRecords.

Runs in one background thread. Articles generated but not yet accepted by Kinesis stay in
the buffer (bounded) and are retried; ``stop(timeout)`` keeps flushing the buffer until it is
empty or the timeout passes, so a SIGTERM within the graceful timeout loses nothing the
publisher has generated.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from typing import Any

from common.logs import log_event
from publisher.articles import ArticleGenerator
from publisher.failures import PUBLISHER_ERROR, failure_detail
from publisher.kinesis_writer import MAX_RECORDS_PER_CALL, KinesisWriter, Record

logger = logging.getLogger("publisher.service")

_TICK_SECONDS = 0.05
_FLUSH_SECONDS = 0.2
_LOOP_ERROR_PAUSE_SECONDS = 1.0
# When Kinesis is down, generation pauses once this many articles wait (nothing is dropped).
MAX_BUFFERED = 50_000
# /health reports unhealthy when nothing could be published for this long while articles wait.
STALL_SECONDS = 15.0


def article_data(article: Any) -> bytes:
    """An article as compact UTF-8 JSON with non-ASCII text as is (2-4 bytes a character; a ``\\u`` escape takes 6).

    Raises ``UnicodeEncodeError`` for a lone surrogate, which UTF-8 cannot encode.
    """
    return json.dumps(article, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode(article: dict[str, Any]) -> Record:
    """The Kinesis record of an article: its UTF-8 JSON, keyed by ``article_id``."""
    return Record(partition_key=article["article_id"], data=article_data(article))


@dataclass
class HealthReport:
    healthy: bool
    body: dict[str, Any]


class PublishingLoop:
    """Owns the generator, the buffer and the writer; ``start()`` runs the loop in a thread."""

    def __init__(self, generator: ArticleGenerator, writer: KinesisWriter, rate: float, count: int) -> None:
        self.generator = generator
        self.writer = writer
        self.rate = rate
        self.count = count
        self.generated = 0
        self._buffer: deque[Record] = deque()
        self._in_flight = 0
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)
        self._started_at = time.monotonic()
        self._last_success = time.monotonic()

    def start(self) -> None:
        self._started_at = time.monotonic()
        self._thread.start()

    @property
    def buffered(self) -> int:
        """Articles generated and not yet accepted by Kinesis (waiting or in a call)."""
        return len(self._buffer) + self._in_flight

    @property
    def done(self) -> bool:
        return self.count > 0 and self.generated >= self.count and not self.buffered

    def _generate_due(self) -> None:
        due = int((time.monotonic() - self._started_at) * self.rate) - self.generated
        if self.count:
            due = min(due, self.count - self.generated)
        due = min(due, MAX_BUFFERED - len(self._buffer))
        for _ in range(max(0, due)):
            self._buffer.append(encode(self.generator.article()))
            self.generated += 1

    def flush(self, deadline: float | None = None) -> None:
        """Send what is buffered until a call fails or the ``deadline`` (``time.monotonic()``) passes.

        Records Kinesis did not accept stay at the front of the buffer. With a deadline, a flush
        running in the publishing thread is waited for only until then.
        """
        wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._flush_lock.acquire(timeout=wait):
            return
        try:
            while self._buffer and (deadline is None or time.monotonic() < deadline):
                batch = [self._buffer.popleft() for _ in range(min(MAX_RECORDS_PER_CALL, len(self._buffer)))]
                self._in_flight = len(batch)
                failed = batch  # if put raises, the whole batch goes back
                try:
                    failed = self.writer.put(batch)
                finally:
                    self._buffer.extendleft(reversed(failed))
                    self._in_flight = 0
                if len(failed) < len(batch):
                    self._last_success = time.monotonic()
                if failed:
                    return
        finally:
            self._flush_lock.release()

    def _run(self) -> None:
        last_flush = 0.0
        while not self._stop.is_set():
            try:
                self._generate_due()
                now = time.monotonic()
                if len(self._buffer) >= MAX_RECORDS_PER_CALL or (self._buffer and now - last_flush >= _FLUSH_SECONDS):
                    last_flush = now
                    self.flush()
            except Exception as error:
                # The batch of a failed flush is back in the buffer: log, show it in /health, and go on
                # after a pause rather than let one bad answer end publishing for the pod's lifetime.
                detail = failure_detail(error)
                self.writer.record_failure(PUBLISHER_ERROR, detail)
                log_event(
                    logger, "publishing_loop_error", logging.ERROR, error=detail, traceback=traceback.format_exc()
                )
                self._stop.wait(_LOOP_ERROR_PAUSE_SECONDS)
                continue
            self._stop.wait(_TICK_SECONDS)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop generating, then flush until the buffer is empty or ``timeout`` seconds have passed (SIGTERM path).

        A failed flush is retried until then; a call already under way may outlast the timeout by
        the client's own timeouts. The ``publisher_stopped`` line tells what stayed unsent.
        """
        if self._stop.is_set():
            return
        deadline = time.monotonic() + timeout
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        while self.buffered and time.monotonic() < deadline:
            self.flush(deadline)
        log_event(
            logger,
            "publisher_stopped",
            generated=self.generated,
            published=self.writer.stats.published,
            unsent=self.buffered,
        )

    def health(self, stream_reachable: bool) -> HealthReport:
        stats = self.writer.stats
        stalled = bool(self.buffered) and time.monotonic() - self._last_success > STALL_SECONDS
        healthy = stream_reachable and not stalled
        return HealthReport(
            healthy,
            {
                "status": "ok" if healthy else "unavailable",
                "stream_reachable": stream_reachable,
                "articles_generated": self.generated,
                "articles_published": stats.published,
                "articles_buffered": self.buffered,
                "last_publish_time": stats.last_publish_time,
                "last_error": stats.last_error_code,
                "done": self.done,
            },
        )
