"""The series math of ``make report``, pure: per-label series, gaps, rates across counter resets.

A series is one label set of one sample name on one endpoint, as a point per scrape of that
endpoint: every series of an endpoint shares its time axis, so they add up point by point. A point
without a value is a gap: the endpoint did not answer, or its answer had no such sample.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ops.report.recording import Scrape

Labels = tuple[tuple[str, str], ...]  # a label set as sorted (name, value) pairs: hashable, comparable


@dataclass(frozen=True)
class Point:
    """A value at Unix time ``t``; ``None`` is a gap."""

    t: float
    value: float | None


def labels_key(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def series_of(scrapes: Sequence[Scrape], name: str) -> dict[Labels, list[Point]]:
    """Every label set of sample ``name`` in ``scrapes`` (one endpoint's, oldest first), a point per scrape."""
    values = [{labels_key(s.labels): s.value for s in scrape.samples if s.name == name} for scrape in scrapes]
    keys = sorted({key for found in values for key in found})
    return {
        key: [Point(scrape.t, found.get(key)) for scrape, found in zip(scrapes, values, strict=True)] for key in keys
    }


def increases(points: Sequence[Point]) -> list[tuple[Point, Point, float]]:
    """What a counter added between each two consecutive valued points, bridging gaps.

    A value lower than the one before is a counter reset (the process restarted and counts from
    0 again): the increase is then the new value, as Prometheus' ``rate`` and ``increase`` count it.
    """
    valued = [(point, point.value) for point in points if point.value is not None]
    return [
        (before, after, now if now < then else now - then)
        for (before, then), (after, now) in itertools.pairwise(valued)
    ]


def rates(points: Sequence[Point], window: float = 0.0) -> list[Point]:
    """The per-second rate of a counter at each point, as PromQL's ``rate(metric[window])``.

    The rate at a point is what the counter added (``increases``: across resets) from the earliest
    valued point at most ``window`` seconds before it, over the time between the two; with no such
    point, from the point just before it. No rate at the first point nor at a gap: a gap stays a
    gap in the plot. A longer window smooths a counter that jumps once a batch.
    """
    found = []
    oldest = 0  # the first point inside the window (times only grow)
    for index, point in enumerate(points):
        while oldest < index and points[oldest].t < point.t - window:
            oldest += 1
        start = next((k for k in range(oldest, index) if points[k].value is not None), index - 1)
        if point.value is None or start < 0 or points[start].value is None or points[start].t >= point.t:
            found.append(Point(point.t, None))
            continue
        grown = total_increase(points[start : index + 1]) or 0.0
        found.append(Point(point.t, grown / (point.t - points[start].t)))
    return found


def total_increase(points: Sequence[Point]) -> float | None:
    """What a counter added over the whole series, across resets and gaps; None with fewer than two values."""
    steps = increases(points)
    return sum(grown for _before, _after, grown in steps) if steps else None


def aggregate(
    series: Mapping[Labels, Sequence[Point]], by: Sequence[str], how: Callable[[Iterable[float]], float] = sum
) -> dict[Labels, list[Point]]:
    """Series grouped by the labels ``by`` (the others dropped), combined point by point with ``how``.

    As PromQL's ``sum by (...)`` / ``max by (...)``: a series without a value at a point is left out
    of it; a point is a gap only when every series of its group has none. The series must share
    their time axis (``series_of`` gives that for one endpoint).
    """
    groups: dict[Labels, list[Sequence[Point]]] = {}
    for key, points in series.items():
        wanted = tuple((name, value) for name, value in key if name in by)
        groups.setdefault(wanted, []).append(points)
    combined = {}
    for key, members in sorted(groups.items()):
        points = []
        for at in zip(*members, strict=True):
            present = [point.value for point in at if point.value is not None]
            points.append(Point(at[0].t, how(present) if present else None))
        combined[key] = points
    return combined


def scaled(points: Sequence[Point], factor: float) -> list[Point]:
    return [Point(p.t, None if p.value is None else p.value * factor) for p in points]


def down_spans(scrapes: Sequence[Scrape]) -> list[tuple[float, float]]:
    """The times an endpoint did not answer: from a failed scrape to the next that answered (or the last)."""
    spans = []
    start: float | None = None
    for scrape in scrapes:
        if not scrape.answered and start is None:
            start = scrape.t
        elif scrape.answered and start is not None:
            spans.append((start, scrape.t))
            start = None
    if start is not None:
        spans.append((start, scrapes[-1].t))
    return spans


def max_value(points: Sequence[Point]) -> float | None:
    values = [p.value for p in points if p.value is not None]
    return max(values) if values else None
