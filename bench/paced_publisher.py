"""Publishing at a fixed rate with the project's ``KinesisWriter``, remembering when each article was sent."""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import datetime, timezone

from bench.emulator import Emulator
from bench.sized_articles import SizedArticles
from common.aws import client
from publisher.kinesis_writer import MAX_RECORDS_PER_CALL, KinesisWriter, Record

_TICK = 0.1  # seconds between sends, as a publisher flushing its buffer every 100 ms


class PacedPublisher:
    """Stamps template articles with a fresh id and the send time, publishes with ``KinesisWriter``."""

    def __init__(self, emulator: Emulator, stream: str, record_bytes: int) -> None:
        self.writer = KinesisWriter(client("kinesis", emulator.aws), stream)
        sized = SizedArticles(record_bytes, seed=17)
        self.templates = [sized.article() for _ in range(500)]
        self.sent: dict[str, float] = {}
        self.unsent = 0
        self._random = random.Random(3)

    def publish(self, count: int) -> None:
        """``count`` articles sent now, in calls of at most 500 records."""
        sent_at = time.time()
        stamp = datetime.fromtimestamp(sent_at, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        records = []
        ids = []
        for _ in range(count):
            article = dict(self._random.choice(self.templates))
            article["article_id"] = str(uuid.uuid4())
            article["published_at"] = stamp
            ids.append(article["article_id"])
            records.append(Record(article["article_id"], json.dumps(article, separators=(",", ":")).encode()))
        for begin in range(0, len(records), MAX_RECORDS_PER_CALL):
            self.unsent += len(self.writer.put(records[begin : begin + MAX_RECORDS_PER_CALL]))
        for article_id in ids:
            self.sent[article_id] = sent_at

    def run_rate(self, rate: float | None, seconds: float) -> tuple[list[str], float]:
        """Publish at ``rate`` articles/s (None: as fast as the emulator accepts) for ``seconds``."""
        before = set(self.sent)
        started = time.monotonic()
        published = 0
        while (elapsed := time.monotonic() - started) < seconds:
            if rate is None:
                self.publish(MAX_RECORDS_PER_CALL)
                published += MAX_RECORDS_PER_CALL
                continue
            due = int(elapsed * rate) - published
            if due > 0:
                self.publish(due)
                published += due
            time.sleep(max(0.0, _TICK - (time.monotonic() - started - elapsed)))
        achieved = published / (time.monotonic() - started)
        return [i for i in self.sent if i not in before], achieved
