"""Realistic, seedable news articles made with Faker.

Bodies are 1-12 paragraphs of 2-8 sentences (roughly 30 to 1,500 words), drawn from a pool
of Faker sentences made once, so generating thousands of articles a second stays cheap.
Authors come from a bounded set so each sliding window holds several articles per author.
A seed makes the content reproducible (titles, authors, bodies, categories, slugs); the
``article_id`` is a random UUID4 regardless (``os.urandom``), so restarts and replicas
started with the same seed never publish the same id twice.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timezone
from typing import Any

from faker import Faker

CATEGORIES = ("politics", "business", "technology", "science", "health", "sports", "culture", "world")
_SENTENCE_POOL = 2_000


class ArticleGenerator:
    """Makes article dicts following the data contract (see docs/data-contract.md)."""

    def __init__(self, seed: int | None = None, authors: int = 8) -> None:
        faker = Faker("en_US")
        faker.seed_instance(seed)
        self._random = random.Random(seed)
        self.authors = [faker.unique.name() for _ in range(authors)]
        self._sentences = [faker.sentence(nb_words=self._random.randint(6, 22)) for _ in range(_SENTENCE_POOL)]
        self._titles = [faker.sentence(nb_words=self._random.randint(4, 10)).rstrip(".") for _ in range(500)]
        self._slugs = [faker.slug() for _ in range(500)]
        self._domain = faker.domain_name()

    def body(self) -> str:
        """A body of 1-12 paragraphs of 2-8 sentences."""
        paragraphs = []
        for _ in range(self._random.randint(1, 12)):
            paragraphs.append(" ".join(self._random.choices(self._sentences, k=self._random.randint(2, 8))))
        return "\n\n".join(paragraphs)

    def article(self, published_at: datetime | None = None) -> dict[str, Any]:
        """One article; ``published_at`` defaults to now (UTC)."""
        article_id = str(uuid.uuid4())
        when = (published_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        return {
            "article_id": article_id,
            "title": self._random.choice(self._titles),
            "author": self._random.choice(self.authors),
            "body": self.body(),
            "category": self._random.choice(CATEGORIES),
            "url": f"https://{self._domain}/{self._random.choice(self._slugs)}-{article_id[:8]}",
            "published_at": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
