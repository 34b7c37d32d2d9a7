"""The contract applied to Arrow batches inside Spark: one parsed-or-rejected row per Kinesis record.

``parse_batches`` is the ``mapInArrow`` function of the job; each row carries either the
article columns or the error columns (``common.contract.parse_record`` decides), never both.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from common.contract import DEFAULT_MAX_EVENT_TIME_LEAD, Article, Rejection, parse_record, raw_payload


def parsed_arrow_schema() -> Any:
    """Arrow schema of ``parse_batches`` output; the Spark schema is derived from it."""
    import pyarrow as pa

    timestamp = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("article_id", pa.string()),
            ("author", pa.string()),
            ("title", pa.string()),
            ("category", pa.string()),
            ("url", pa.string()),
            ("published_at", timestamp),
            ("word_count", pa.int32()),
            ("shard_id", pa.string()),
            ("sequence_number", pa.string()),
            ("sub_sequence_number", pa.int64()),
            ("arrival_time", timestamp),
            ("error_reason", pa.string()),
            ("error_detail", pa.string()),
            ("raw_payload", pa.string()),
            ("payload_encoding", pa.string()),
        ]
    )


def parse_batches(
    batches: Iterator[Any], max_event_time_lead: timedelta = DEFAULT_MAX_EVENT_TIME_LEAD
) -> Iterator[Any]:
    """``mapInArrow`` function: source rows in, one parsed-or-rejected row out per record."""
    import pyarrow as pa

    schema = parsed_arrow_schema()
    for batch in batches:
        columns: dict[str, list[Any]] = {name: [] for name in schema.names}
        source = batch.to_pydict()
        for index, data in enumerate(source["data"]):
            arrival = source["arrival_time"][index]
            outcome = parse_record(data, arrival, max_event_time_lead)
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
