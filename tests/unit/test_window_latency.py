"""The author_stats latency of the bench (bench/window_latency.py): from a window's finality to its row."""

from datetime import datetime, timezone

import pytest

from bench.window_latency import closed_window_ends, window_latencies

pytestmark = pytest.mark.unit
END = datetime(2026, 12, 7, 2, 5, tzinfo=timezone.utc)


def test_a_window_is_final_when_the_first_article_past_its_end_plus_the_delay_is_sent() -> None:
    end = END.timestamp()
    sent = [end - 30, end + 5, end + 19.9, end + 20.0, end + 21, end + 40]
    rows = window_latencies({(END, "Ada"): end + 24.5}, sent, delay_seconds=20)
    assert [(row["final_at"] - end, row["latency_s"]) for row in rows] == [(20.0, 4.5)]


def test_a_pause_in_publishing_moves_the_final_moment_to_the_next_article() -> None:
    end = END.timestamp()
    rows = window_latencies({(END.replace(tzinfo=None), "Ada"): end + 70}, [end, end + 65], delay_seconds=20)
    assert rows[0]["final_at"] == end + 65 and rows[0]["latency_s"] == pytest.approx(5)


def test_windows_no_sent_article_made_final_are_left_out() -> None:
    end = END.timestamp()
    assert window_latencies({(END, "Ada"): end + 50}, [end + 10], delay_seconds=20) == []


def test_the_windows_closed_are_the_minute_ends_between_the_first_article_and_the_last_minus_the_delay() -> None:
    start = END.timestamp() - 10  # 02:04:50
    closed = closed_window_ends([start, start + 100, start + 150], delay_seconds=20)  # last 02:07:20
    assert sorted(closed) == [END.timestamp(), END.timestamp() + 60, END.timestamp() + 120]
    assert closed_window_ends([start, start + 25], delay_seconds=20) == set()
