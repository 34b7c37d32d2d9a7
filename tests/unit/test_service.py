"""Record encoding of the publishing loop (publisher/service.py): UTF-8 JSON keyed by article_id."""

import json

import pytest

from publisher.articles import ArticleGenerator
from publisher.service import encode

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
