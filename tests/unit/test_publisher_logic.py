"""The article generator and PutRecords batching, without AWS."""

import json

import pytest

from common.contract import Article, parse_record
from publisher.articles import ArticleGenerator
from publisher.kinesis_writer import MAX_BYTES_PER_CALL, Record, chunk_records
from publisher.service import encode

pytestmark = pytest.mark.unit


def test_generator_is_seedable_and_follows_the_contract() -> None:
    first = [ArticleGenerator(seed=7).article() for _ in range(1)]
    again = [ArticleGenerator(seed=7).article() for _ in range(1)]
    assert [a["article_id"] for a in first] == [a["article_id"] for a in again]
    generator = ArticleGenerator(seed=1, authors=5)
    articles = [generator.article() for _ in range(300)]
    assert len({a["author"] for a in articles}) == 5, "a bounded set of authors"
    lengths = []
    for article in articles:
        outcome = parse_record(
            encode(article).data, __import__("datetime").datetime.now(__import__("datetime").timezone.utc)
        )
        assert isinstance(outcome, Article), outcome
        lengths.append(outcome.word_count)
    assert min(lengths) < 150 and max(lengths) > 500, "bodies of varied length"
    assert len({a["article_id"] for a in articles}) == 300


def test_records_are_chunked_by_count_and_size_in_order() -> None:
    small = [Record(str(i), b"x") for i in range(1_201)]
    calls = chunk_records(small)
    assert [len(c) for c in calls] == [500, 500, 201]
    assert [r.partition_key for c in calls for r in c] == [str(i) for i in range(1_201)]
    big = [Record(str(i), b"y" * (1024 * 1024 - 10)) for i in range(12)]
    calls = chunk_records(big)
    assert all(sum(r.size for r in c) <= MAX_BYTES_PER_CALL for c in calls)
    assert sum(len(c) for c in calls) == 12 and len(calls) == 3


def test_encoded_records_are_keyed_by_article_id() -> None:
    article = ArticleGenerator(seed=3).article()
    record = encode(article)
    assert record.partition_key == article["article_id"] and json.loads(record.data) == article
