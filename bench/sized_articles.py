"""Valid articles padded or cut to a stated record size: the records every benchmark publishes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from publisher.articles import ArticleGenerator
from publisher.kinesis_writer import Record


class SizedArticles:
    """Valid articles whose JSON encoding is ``record_bytes`` long (body padded or cut to fit)."""

    def __init__(self, record_bytes: int, seed: int = 7) -> None:
        self.record_bytes = record_bytes
        self.generator = ArticleGenerator(seed=seed, authors=20)

    def article(self, published_at: datetime | None = None) -> dict[str, Any]:
        """One article of ``record_bytes`` once encoded."""
        article = self.generator.article(published_at)
        article["body"] = ""
        overhead = len(json.dumps(article, separators=(",", ":")).encode())
        room = max(16, self.record_bytes - overhead)
        body = self.generator.body()
        while len(body) < room:
            body += "\n\n" + self.generator.body()
        article["body"] = body[:room].rstrip() or "word"
        return article

    def records(self, count: int, published_at: datetime | None = None) -> list[Record]:
        """``count`` articles encoded as the publisher encodes them."""
        from publisher.service import encode

        return [encode(self.article(published_at)) for _ in range(count)]
