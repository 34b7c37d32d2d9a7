"""The parser's contract: every record is an article or a rejection with a reason, never both."""

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.contract import Article, Rejection, count_words, parse_record, raw_payload

pytestmark = pytest.mark.unit
ARRIVAL = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
VALID = {
    "article_id": "0b7a9c3e-7a0a-4a57-9f57-0e8c2f1f8d11",
    "title": "Markets rally",
    "author": "Jane Roe",
    "body": "Stocks rose sharply on Monday.",
    "category": "business",
    "url": "https://example.com/a",
    "published_at": "2026-11-23T11:58:00Z",
}


def parse(document: object) -> Article | Rejection:
    return parse_record(json.dumps(document).encode(), ARRIVAL)


def test_valid_article_is_parsed_with_word_count_and_utc_time() -> None:
    article = parse({**VALID, "extra_field": {"kept": "out of the schema"}})
    assert isinstance(article, Article)
    assert article.word_count == 5
    assert article.published_at == datetime(2026, 11, 23, 11, 58, tzinfo=timezone.utc)
    assert article.author == "Jane Roe"


def test_offsets_are_converted_to_utc() -> None:
    article = parse({**VALID, "published_at": "2026-11-23T13:58:00+02:00"})
    assert isinstance(article, Article) and article.published_at.hour == 11


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe\x00garbage", "invalid_utf8"),
        (b"{not json", "invalid_json"),
        (b"", "invalid_json"),
        (b"[1, 2, 3]", "not_an_object"),
        (b'"just a string"', "not_an_object"),
        (b"42", "not_an_object"),
        (b"null", "not_an_object"),
        (b"[" * 100_000, "invalid_json"),
    ],
)
def test_bytes_that_are_not_an_object_are_rejected(payload: bytes, reason: str) -> None:
    outcome = parse_record(payload, ARRIVAL)
    assert isinstance(outcome, Rejection) and outcome.reason == reason


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({"article_id": None}, "null_field", "article_id"),
        ({"author": None}, "null_field", "author"),
        ({"author": "   "}, "null_field", "author"),
        ({"published_at": 1700000000}, "wrong_type", "published_at"),
        ({"title": ["a", "list"]}, "wrong_type", "title"),
        ({"author": {"name": "x"}}, "wrong_type", "author"),
        ({"article_id": "not-a-uuid"}, "invalid_article_id", "article_id"),
        ({"body": ""}, "empty_body", "body"),
        ({"body": "  \n "}, "empty_body", "body"),
        ({"title": "x" * 1_001}, "oversized_field", "title"),
        ({"published_at": "yesterday"}, "unparseable_timestamp", "published_at"),
        ({"published_at": "2026-11-23T11:58:00"}, "unparseable_timestamp", "published_at"),
        ({"published_at": "2026-13-45T99:00:00Z"}, "unparseable_timestamp", "published_at"),
        ({"published_at": "1969-12-31T23:59:59Z"}, "timestamp_out_of_range", "published_at"),
        ({"published_at": "2126-01-01T00:00:00Z"}, "event_time_ahead", "published_at"),
    ],
)
def test_contract_violations_have_a_reason_naming_the_field(change: dict, reason: str, field: str) -> None:
    outcome = parse({**VALID, **change})
    assert isinstance(outcome, Rejection), outcome
    assert outcome.reason == reason
    assert field in outcome.detail


def test_event_time_may_lead_arrival_by_the_setting_and_no_more() -> None:
    """A fast producer clock within MAX_EVENT_TIME_LEAD is accepted; beyond it the record is quarantined."""
    from datetime import timedelta

    def at(lead: timedelta, max_lead: timedelta | None = None) -> Article | Rejection:
        published = (ARRIVAL + lead).isoformat().replace("+00:00", "Z")
        data = json.dumps({**VALID, "published_at": published}).encode()
        return parse_record(data, ARRIVAL) if max_lead is None else parse_record(data, ARRIVAL, max_lead)

    assert isinstance(at(timedelta(minutes=2)), Article), "the default lead is WATERMARK_DELAY's default"
    ahead = at(timedelta(minutes=2, milliseconds=1))
    assert isinstance(ahead, Rejection) and ahead.reason == "event_time_ahead"
    assert "MAX_EVENT_TIME_LEAD" in ahead.detail and "clock" in ahead.detail
    assert isinstance(at(timedelta(hours=23)), Rejection), "a day ahead is refused too"
    assert isinstance(at(timedelta(minutes=9), timedelta(minutes=10)), Article)


@pytest.mark.parametrize("field", ["article_id", "author", "published_at", "body"])
def test_missing_required_fields_are_named(field: str) -> None:
    document = {k: v for k, v in VALID.items() if k != field}
    outcome = parse(document)
    assert isinstance(outcome, Rejection) and outcome.reason == "missing_field" and field in outcome.detail


def test_raw_payload_is_lossless() -> None:
    assert raw_payload(b'{"a": 1}') == ('{"a": 1}', "utf-8")
    import base64

    text, encoding = raw_payload(b"\xff\x00\x80")
    assert encoding == "base64" and base64.b64decode(text) == b"\xff\x00\x80"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_never_raise_and_get_one_outcome(payload: bytes) -> None:
    outcome = parse_record(payload, ARRIVAL)
    assert isinstance(outcome, (Article, Rejection))
    if isinstance(outcome, Rejection):
        assert outcome.reason and outcome.detail


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*list(VALID), "other"]), json_values, max_size=9), st.booleans())
def test_arbitrary_json_objects_are_article_xor_rejection(document: dict, start_valid: bool) -> None:
    merged = {**VALID, **document} if start_valid else document
    outcome = parse(merged)
    assert isinstance(outcome, (Article, Rejection))
    if isinstance(outcome, Article):
        assert outcome.word_count == count_words(merged["body"]) and outcome.author == merged["author"].strip()
