"""The article generator, record encoding, PutRecords batching and the graceful timeout, without AWS."""

import json
from datetime import datetime, timezone

import pytest

from common.contract import Article, parse_record
from common.env import SettingError
from publisher.articles import ArticleGenerator
from publisher.kinesis_writer import MAX_BYTES_PER_CALL, Record, chunk_records
from publisher.service import encode
from publisher.settings import PublisherSettings

pytestmark = pytest.mark.unit


def test_a_seed_reproduces_the_content_but_never_the_ids() -> None:
    first, again = ArticleGenerator(seed=7), ArticleGenerator(seed=7)
    ones, others = [first.article() for _ in range(20)], [again.article() for _ in range(20)]
    content = ("title", "author", "body", "category")
    assert [[a[k] for k in content] for a in ones] == [[a[k] for k in content] for a in others]
    assert not {a["article_id"] for a in ones} & {a["article_id"] for a in others}, "ids repeat under one seed"


def test_generated_articles_follow_the_contract() -> None:
    generator = ArticleGenerator(seed=1, authors=5)
    articles = [generator.article() for _ in range(300)]
    assert len({a["author"] for a in articles}) == 5, "a bounded set of authors"
    lengths = []
    for article in articles:
        outcome = parse_record(encode(article).data, datetime.now(timezone.utc))
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


def test_records_are_utf8_json_without_escapes() -> None:
    article = {**ArticleGenerator(seed=3).article(), "title": "Ça coûte 5 €", "body": "東京タワー " * 1_000}
    record = encode(article)
    assert b"\\u" not in record.data and "東京タワー".encode() in record.data
    assert json.loads(record.data.decode("utf-8")) == article


def test_encoded_records_are_keyed_by_article_id() -> None:
    article = ArticleGenerator(seed=3).article()
    record = encode(article)
    assert record.partition_key == article["article_id"] and json.loads(record.data) == article


def test_the_graceful_timeout_is_whole_seconds_of_at_least_two() -> None:
    assert PublisherSettings.from_env({}).graceful_timeout.seconds == 20
    assert PublisherSettings.from_env({"PUBLISHER_GRACEFUL_TIMEOUT": "1 minute"}).graceful_timeout.seconds == 60
    for bad in ("1 second", "2500ms", "20"):
        with pytest.raises(SettingError, match="PUBLISHER_GRACEFUL_TIMEOUT"):
            PublisherSettings.from_env({"PUBLISHER_GRACEFUL_TIMEOUT": bad})
