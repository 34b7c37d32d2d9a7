"""The publishing loop (publisher/service.py): records as UTF-8 JSON keyed by article_id; errors do not end it."""

import json
from typing import Any

import pytest
from pipeline_testing import wait_until
from test_kinesis_writer import ScriptedKinesis

from publisher.articles import ArticleGenerator
from publisher.kinesis_writer import KinesisWriter
from publisher.service import PublishingLoop, encode

pytestmark = pytest.mark.unit


def test_records_are_utf8_json_without_escapes() -> None:
    article = {**ArticleGenerator(seed=3).article(), "title": "Ça coûte 5 €", "body": "東京タワー " * 1_000}
    record = encode(article)
    assert b"\\u" not in record.data and "東京タワー".encode() in record.data
    assert json.loads(record.data.decode("utf-8")) == article


def test_encoded_records_are_keyed_by_article_id() -> None:
    article = ArticleGenerator(seed=3).article()
    record = encode(article)
    assert record.partition_key == article["article_id"] and json.loads(record.data) == article


class FailingOnce(ArticleGenerator):
    """An article generator whose second article raises, as an unforeseen bug would."""

    def __init__(self) -> None:
        super().__init__(seed=3)
        self.calls = 0

    def article(self) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("a bug in one article")
        return super().article()


def test_the_loop_survives_an_unforeseen_error_shows_it_and_goes_on_publishing() -> None:
    writer = KinesisWriter(ScriptedKinesis({}), "articles", sleep=lambda _: None)
    loop = PublishingLoop(FailingOnce(), writer, rate=200.0, count=20)
    loop.start()
    try:
        wait_until(lambda: writer.stats.last_error_code == "publisher_error", 10, "the loop to report its error")
        wait_until(lambda: loop.done, 10, "every article published after the error")
    finally:
        loop.stop(timeout=1)
    assert writer.stats.published == 20 and loop.generated == 20
