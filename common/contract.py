"""The data contract both sides share: the article record, its validation, the word count, the outputs.

The publisher validates ``POST /articles`` with ``parse_record``; the Spark job applies the same
function to every Kinesis record (``jobs/parsing.py`` runs it over Arrow batches), so both
sides accept and reject exactly the same records.

Article record: UTF-8 JSON, one per Kinesis record, partition key ``article_id``. Required
string fields ``article_id`` (a UUID), ``author``, ``published_at`` (RFC 3339 with an offset,
the event time) and ``body``; optional ``title``, ``category``, ``url``. Unknown extra
fields are ignored and never make a record fail.

``parse_record`` is total: for any bytes it returns either an ``Article`` or a ``Rejection``
with a machine-readable ``reason`` and a human ``detail``; it never raises. Reasons:
invalid_utf8, invalid_json, not_an_object, missing_field, null_field, wrong_type,
invalid_article_id, empty_body, oversized_field, unparseable_timestamp, timestamp_out_of_range,
event_time_ahead.

Event time has a bounded lead over arrival: ``published_at`` more than ``max_event_time_lead``
(``MAX_EVENT_TIME_LEAD``, by default ``WATERMARK_DELAY``) after the record's Kinesis arrival is
rejected, so one producer's fast clock can never move the windows' watermark past on-time articles.

Word count (``count_words``): a word is a maximal run of Unicode letters and digits; an apostrophe (' or ’) between two
such runs joins them ("don't", "rock'n'roll" are one word each). Everything else separates
words: spaces, punctuation, hyphens ("well-known" is two words), underscores, emoji. So an
empty or punctuation-only body has 0 words, "3.14" has 2, and scripts written without
spaces count each unbroken run once ("東京タワー" is 1).

Outputs: ``ENRICHED_ARTICLES`` (one row per valid article), ``QUARANTINE`` (rejected records,
payload kept losslessly) and ``AUTHOR_STATS`` (windowed averages), under one S3 bucket.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

ENRICHED_ARTICLES = "enriched_articles"
QUARANTINE = "quarantine"
AUTHOR_STATS = "author_stats"
OUTPUTS = (ENRICHED_ARTICLES, AUTHOR_STATS, QUARANTINE)

REQUIRED_FIELDS = ("article_id", "author", "published_at", "body")
OPTIONAL_FIELDS = ("title", "category", "url")
MAX_FIELD_CHARS = {
    "article_id": 64,
    "author": 200,
    "title": 1_000,
    "category": 100,
    "url": 2_048,
    "published_at": 64,
    "body": 1_000_000,
}
EARLIEST_EVENT_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)
# How far published_at may run ahead of Kinesis arrival (clock skew), unless a setting says otherwise.
DEFAULT_MAX_EVENT_TIME_LEAD = timedelta(minutes=2)

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


@dataclass(frozen=True)
class Article:
    article_id: str
    author: str
    title: str | None
    category: str | None
    url: str | None
    published_at: datetime
    word_count: int


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str


def _parse_time(text: str) -> datetime | None:
    """An RFC 3339 time with an offset, in UTC; None when it is not one."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None or len(text.strip()) < 20:
        return None
    return parsed.astimezone(timezone.utc)


class _Invalid(Exception):
    """Raised inside the checks below; never escapes ``parse_record``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.rejection = Rejection(reason, detail)


def _document(data: bytes) -> dict[str, Any]:
    """The record as a JSON object."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _Invalid("invalid_utf8", f"payload is not UTF-8: {error.reason} at byte {error.start}") from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise _Invalid("invalid_json", f"payload is not JSON: {str(error)[:200]}") from None
    if not isinstance(document, dict):
        raise _Invalid("not_an_object", f"payload is a JSON {type(document).__name__}, not an object")
    return document


def _check_fields(document: dict[str, Any]) -> None:
    """Required fields present and not null; every contract field a string within its size limit."""
    for name in REQUIRED_FIELDS:
        if name not in document:
            raise _Invalid("missing_field", f"required field {name!r} is missing")
        if document[name] is None:
            raise _Invalid("null_field", f"required field {name!r} is null")
    for name in REQUIRED_FIELDS + OPTIONAL_FIELDS:
        value = document.get(name)
        if value is not None and not isinstance(value, str):
            raise _Invalid("wrong_type", f"field {name!r} must be a string, got {type(value).__name__}")
        if value is not None and len(value) > MAX_FIELD_CHARS[name]:
            raise _Invalid(
                "oversized_field",
                f"field {name!r} has {len(value)} characters, at most {MAX_FIELD_CHARS[name]} allowed",
            )


def _event_time(text: str, arrival_time: datetime, max_lead: timedelta) -> datetime:
    """``published_at`` in UTC, from 1970 to ``max_lead`` after the record's arrival."""
    published_at = _parse_time(text)
    if published_at is None:
        raise _Invalid("unparseable_timestamp", f"published_at {text[:64]!r} is not an RFC 3339 time with an offset")
    if published_at < EARLIEST_EVENT_TIME:
        raise _Invalid("timestamp_out_of_range", f"published_at {published_at.isoformat()} is before 1970")
    arrival = arrival_time if arrival_time.tzinfo else arrival_time.replace(tzinfo=timezone.utc)
    if published_at > arrival + max_lead:
        raise _Invalid(
            "event_time_ahead",
            f"published_at {published_at.isoformat()} is {published_at - arrival} after the record's arrival "
            f"({arrival.isoformat()}); at most {max_lead} (MAX_EVENT_TIME_LEAD) is accepted: check the producer's clock",
        )
    return published_at


def parse_record(
    data: bytes, arrival_time: datetime, max_event_time_lead: timedelta = DEFAULT_MAX_EVENT_TIME_LEAD
) -> Article | Rejection:
    """Validate one record's bytes against the article contract (see the module docstring)."""
    try:
        return _article(data, arrival_time, max_event_time_lead)
    except _Invalid as invalid:
        return invalid.rejection


def _article(data: bytes, arrival_time: datetime, max_event_time_lead: timedelta) -> Article:
    document = _document(data)
    _check_fields(document)
    try:
        article_id = str(uuid.UUID(document["article_id"]))
    except ValueError:
        raise _Invalid("invalid_article_id", f"article_id {document['article_id'][:64]!r} is not a UUID") from None
    if not document["author"].strip():
        raise _Invalid("null_field", "required field 'author' is blank")
    if not document["body"].strip():
        raise _Invalid("empty_body", "field 'body' is empty")
    published_at = _event_time(document["published_at"], arrival_time, max_event_time_lead)
    return Article(
        article_id=article_id,
        author=document["author"].strip(),
        title=document.get("title"),
        category=document.get("category"),
        url=document.get("url"),
        published_at=published_at,
        word_count=count_words(document["body"]),
    )


def raw_payload(data: bytes) -> tuple[str, str]:
    """The payload as text, losslessly: (text, 'utf-8') or (base64, 'base64') when not UTF-8."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def count_words(text: str) -> int:
    """Number of words in ``text`` under the rule above."""
    return sum(1 for _ in _WORD.finditer(text))
