"""The article generator (publisher/articles.py): reproducible content, fresh ids, the data contract."""

from datetime import datetime, timezone

import pytest

from common.contract import Article, parse_record
from publisher.articles import ArticleGenerator
from publisher.service import encode

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
