"""Positions the stream's retention may have overtaken are reported, naming the shard and the gap."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from jobs.kinesis.planner import report_trimmed
from jobs.kinesis.positions import ShardEnd, position_after
from jobs.kinesis.shard_reader import KinesisRecord, read_through_ms

pytestmark = pytest.mark.unit
HOUR_MS = 3_600_000
NOW = datetime(2026, 1, 6, 12, 0, tzinfo=timezone.utc)


def end(read_through: datetime | None, closed: bool = False) -> ShardEnd:
    stamp = None if read_through is None else int(read_through.timestamp() * 1000)
    return ShardEnd(position=position_after("1"), records=1, closed=closed, read_through_ms=stamp)


def test_a_resume_beyond_retention_names_the_shard_and_the_gap(caplog: pytest.LogCaptureFixture) -> None:
    ends = {
        "shardId-000000000000": end(NOW - timedelta(hours=27)),  # stopped 27 h ago on a 24 h stream
        "shardId-000000000001": end(NOW - timedelta(hours=1)),
        "shardId-000000000002": end(NOW - timedelta(hours=30), closed=True),  # read to its end
        "shardId-000000000003": end(None),
    }
    with caplog.at_level(logging.ERROR, logger="jobs.kinesis"):
        gaps = report_trimmed(ends, 24 * HOUR_MS, "articles", int(NOW.timestamp() * 1000))
    assert gaps == {"shardId-000000000000": 3 * HOUR_MS}
    lines = [{"event": record.getMessage(), **record.fields} for record in caplog.records]  # type: ignore[attr-defined]
    assert [(line["event"], line["shard"], line["gap_seconds"]) for line in lines] == [
        ("kinesis_records_trimmed_unread", "shardId-000000000000", 3 * 3600)
    ]
    assert "retention" in lines[0]["fix"]


def test_where_reading_stands_is_the_last_arrival_or_now_at_the_tip() -> None:
    record = KinesisRecord(b"{}", "k", "1", None, NOW)
    assert read_through_ms([record], 5_000) == int(NOW.timestamp() * 1000)
    assert read_through_ms([], 5_000) is None
    assert read_through_ms([record], 0) > int(NOW.timestamp() * 1000)
