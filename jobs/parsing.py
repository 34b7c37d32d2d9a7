"""Turning raw Kinesis records into articles, or into quarantine rows with a reason.

``parse_record`` is total: for any bytes it returns either an ``Article`` or a ``Rejection``
with a machine-readable ``reason`` and a human ``detail``; it never raises. The Spark job
applies it to Arrow batches with ``mapInArrow`` (``parse_batches``), producing one row per
input record with either the article columns or the error columns set, never both.

Reasons: invalid_utf8, invalid_json, not_an_object, missing_field, null_field, wrong_type,
invalid_article_id, empty_body, oversized_field, unparseable_timestamp, timestamp_out_of_range.
Unknown extra fields are ignored.
"""
from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from jobs.word_count import count_words

REQUIRED_FIELDS = ("article_id", "author", "published_at", "body")
OPTIONAL_FIELDS = ("title", "category", "url")
MAX_FIELD_CHARS = {"article_id": 64, "author": 200, "title": 1_000, "category": 100, "url": 2_048,
                   "published_at": 64, "body": 1_000_000}
EARLIEST_EVENT_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Event times may run ahead of Kinesis arrival by clock skew, not by more than a day.
MAX_EVENT_TIME_AHEAD = timedelta(days=1)


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


def parse_record(data: bytes, arrival_time: datetime) -> Article | Rejection:
    """Validate one record's bytes against the article contract (see the module docstring)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return Rejection("invalid_utf8", f"payload is not UTF-8: {error.reason} at byte {error.start}")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        return Rejection("invalid_json", f"payload is not JSON: {str(error)[:200]}")
    if not isinstance(document, dict):
        return Rejection("not_an_object", f"payload is a JSON {type(document).__name__}, not an object")
    for name in REQUIRED_FIELDS:
        if name not in document:
            return Rejection("missing_field", f"required field {name!r} is missing")
        if document[name] is None:
            return Rejection("null_field", f"required field {name!r} is null")
    for name in REQUIRED_FIELDS + OPTIONAL_FIELDS:
        value = document.get(name)
        if value is not None and not isinstance(value, str):
            return Rejection("wrong_type", f"field {name!r} must be a string, got {type(value).__name__}")
        if value is not None and len(value) > MAX_FIELD_CHARS[name]:
            return Rejection("oversized_field", f"field {name!r} has {len(value)} characters, at most "
                                                f"{MAX_FIELD_CHARS[name]} allowed")
    try:
        article_id = str(uuid.UUID(document["article_id"]))
    except ValueError:
        return Rejection("invalid_article_id", f"article_id {document['article_id'][:64]!r} is not a UUID")
    if not document["author"].strip():
        return Rejection("null_field", "required field 'author' is blank")
    if not document["body"].strip():
        return Rejection("empty_body", "field 'body' is empty")
    published_at = _parse_time(document["published_at"])
    if published_at is None:
        return Rejection("unparseable_timestamp",
                         f"published_at {document['published_at'][:64]!r} is not an RFC 3339 time with an offset")
    arrival = arrival_time if arrival_time.tzinfo else arrival_time.replace(tzinfo=timezone.utc)
    if published_at < EARLIEST_EVENT_TIME or published_at > arrival + MAX_EVENT_TIME_AHEAD:
        return Rejection("timestamp_out_of_range",
                         f"published_at {published_at.isoformat()} is before 1970 or more than a day after arrival "
                         f"({arrival.isoformat()})")
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


def parsed_arrow_schema() -> Any:
    """Arrow schema of ``parse_batches`` output; the Spark schema is derived from it."""
    import pyarrow as pa

    timestamp = pa.timestamp("us", tz="UTC")
    return pa.schema([
        ("article_id", pa.string()), ("author", pa.string()), ("title", pa.string()),
        ("category", pa.string()), ("url", pa.string()), ("published_at", timestamp),
        ("word_count", pa.int32()), ("shard_id", pa.string()), ("sequence_number", pa.string()),
        ("sub_sequence_number", pa.int64()), ("arrival_time", timestamp),
        ("error_reason", pa.string()), ("error_detail", pa.string()),
        ("raw_payload", pa.string()), ("payload_encoding", pa.string()),
    ])


def parse_batches(batches: Iterator[Any]) -> Iterator[Any]:
    """``mapInArrow`` function: source rows in, one parsed-or-rejected row out per record."""
    import pyarrow as pa

    schema = parsed_arrow_schema()
    for batch in batches:
        columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        source = batch.to_pydict()
        for index, data in enumerate(source["data"]):
            arrival = source["arrival_time"][index]
            outcome = parse_record(data, arrival)
            article = outcome if isinstance(outcome, Article) else None
            rejection = outcome if isinstance(outcome, Rejection) else None
            payload, encoding = raw_payload(data) if rejection else (None, None)
            for name in ("article_id", "author", "title", "category", "url", "published_at", "word_count"):
                columns[name].append(getattr(article, name) if article else None)
            for name in ("shard_id", "sequence_number", "sub_sequence_number", "arrival_time"):
                columns[name].append(source[name][index])
            columns["error_reason"].append(rejection.reason if rejection else None)
            columns["error_detail"].append(rejection.detail if rejection else None)
            columns["raw_payload"].append(payload)
            columns["payload_encoding"].append(encoding)
        yield pa.RecordBatch.from_pydict(columns, schema=schema)
