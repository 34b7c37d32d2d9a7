"""How long a final ``author_stats`` window takes to show: from the moment the watermark passed its end.

A window is final once the query's watermark (newest ``published_at`` seen minus ``WATERMARK_DELAY``)
reaches its end, so the moment it becomes final is when the first article published at or after
``window_end + WATERMARK_DELAY`` was sent (the bench stamps ``published_at`` with the send time).
From there the row still needs that article in ``enriched_articles``, an ``author_stats`` trigger
that reads it and moves the watermark, and the batch after it that emits the window (Spark emits
with the watermark of the batch before): that sum is the aggregate's user-visible latency.
"""

from __future__ import annotations

import bisect
import math
from datetime import datetime, timezone
from typing import Any

# jobs.queries: windows of 5 minutes sliding every minute, so one ends at every full minute.
WINDOW_SLIDE_SECONDS = 60


def epoch_seconds(moment: datetime) -> float:
    """``moment`` as seconds since the epoch (a naive datetime is UTC, as Delta stores timestamps)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def window_latencies(
    seen: dict[tuple[Any, str], float], sent_times: list[float], delay_seconds: float
) -> list[dict[str, Any]]:
    """One entry per window row the inputs made final: when it became final, when it showed, the difference.

    Parameters
    ----------
    seen : dict
        ``(window_end, author)`` -> when the row first showed in ``author_stats`` (epoch seconds).
    sent_times : list of float
        When each article was sent (epoch seconds; its ``published_at``).
    delay_seconds : float
        The job's ``WATERMARK_DELAY``.

    Returns
    -------
    list of dict
        ``window_end``, ``author``, ``final_at``, ``seen_at``, ``latency_s``, for rows whose window some
        sent article made final (others, e.g. from before the run, are left out).
    """
    ordered = sorted(sent_times)
    rows = []
    for (window_end, author), seen_at in seen.items():
        end = epoch_seconds(window_end) if isinstance(window_end, datetime) else float(window_end)
        first = bisect.bisect_left(ordered, end + delay_seconds)
        if first == len(ordered):
            continue
        final_at = ordered[first]
        rows.append(
            {
                "window_end": end,
                "author": author,
                "final_at": final_at,
                "seen_at": seen_at,
                "latency_s": seen_at - final_at,
            }
        )
    return sorted(rows, key=lambda row: (row["window_end"], row["author"]))


def closed_window_ends(sent_times: list[float], delay_seconds: float) -> set[float]:
    """The window ends (epoch seconds) the sent articles made final: after the first, by the last minus the delay."""
    if not sent_times:
        return set()
    first = math.floor(min(sent_times) / WINDOW_SLIDE_SECONDS) + 1
    last = math.floor((max(sent_times) - delay_seconds) / WINDOW_SLIDE_SECONDS)
    return {float(n * WINDOW_SLIDE_SECONDS) for n in range(first, last + 1)}
