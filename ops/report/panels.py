"""The report's panels: the Grafana dashboard's main ones (same titles and queries), computed from a recording.

charts/article-pipeline/files/dashboard.json is the reference: each ``Line`` is one of its
queries (a unit test checks the titles and metric names against it), evaluated over the scrapes
instead of Prometheus: a gauge as scraped, a counter as its per-second rate between scrapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ops.report.recording import Recording
from ops.report.series import (
    Labels,
    Point,
    aggregate,
    down_spans,
    max_value,
    rates,
    scaled,
    series_of,
    total_increase,
)

JOB, PUBLISHER = "job", "publisher"  # the two endpoints


@dataclass(frozen=True)
class Line:
    """One query of a panel: ``how by (by) (metric)`` for a gauge, ``sum by (by) (rate(metric))`` for a counter."""

    endpoint: str
    metric: str  # the sample name: a counter's ends in _total
    kind: Literal["gauge", "rate"]
    by: tuple[str, ...]
    legend: str  # str.format with the ``by`` labels, e.g. "read by {query}"
    how: Literal["sum", "max"] = "sum"
    scale: float = 1.0  # e.g. milliseconds -> seconds


@dataclass(frozen=True)
class Panel:
    title: str  # as on the dashboard
    unit: str  # the y axis
    lines: tuple[Line, ...]
    state: bool = False  # a 0/1 state drawn as steps (the dashboard's state timeline)


PANELS: tuple[Panel, ...] = (
    Panel(
        "Kinesis lag per shard",
        "seconds behind the tip",
        (
            Line(
                JOB,
                "article_pipeline_kinesis_millis_behind_latest",
                "gauge",
                ("query", "shard"),
                "{query} {shard}",
                "max",
                0.001,
            ),
        ),
    ),
    Panel(
        "Throughput in: records read per shard",
        "records/s",
        (
            Line(JOB, "article_pipeline_kinesis_records_read_total", "rate", ("query", "shard"), "{query} {shard}"),
            Line(PUBLISHER, "articles_published_total", "rate", (), "published"),
        ),
    ),
    Panel(
        "Throughput out: rows appended per table",
        "rows/s",
        (
            Line(JOB, "article_pipeline_table_rows_appended_total", "rate", ("table",), "{table}"),
            Line(JOB, "article_pipeline_input_rows_total", "rate", ("query",), "read by {query}"),
        ),
    ),
    Panel(
        "Batch duration per query",
        "seconds",
        (Line(JOB, "article_pipeline_batch_duration_seconds", "gauge", ("query",), "{query}", "max"),),
    ),
    Panel(
        "Quarantine by reason",
        "rows/s",
        (Line(JOB, "article_pipeline_quarantined_rows_total", "rate", ("reason",), "{reason}"),),
    ),
    Panel(
        "Outage state",
        "1 = outage",
        (
            Line(JOB, "article_pipeline_outage", "gauge", (), "outage", "max"),
            Line(JOB, "article_pipeline_outage_endpoint", "gauge", ("endpoint",), "{endpoint}", "max"),
        ),
        state=True,
    ),
)


@dataclass(frozen=True)
class Curve:
    """One drawn line: its legend, labels, points and, for a counter, what it added over the span."""

    line: Line
    legend: str
    labels: dict[str, str]
    points: list[Point]
    added: float | None  # a counter's increase over the span (across resets and gaps); None for a gauge
    last: float | None  # at the endpoint's last answer (None: absent from it)

    @property
    def peak(self) -> float | None:
        return max_value(self.points)


@dataclass(frozen=True)
class PanelData:
    panel: Panel
    curves: list[Curve]
    down: dict[str, list[tuple[float, float]]]  # per endpoint of the panel: when it did not answer


def short_shard(shard: str) -> str:
    """``shardId-000000000001`` -> ``shard 001`` (as ``make status`` shortens them)."""
    return f"shard {shard[-3:]}" if shard.startswith("shardId-") else shard


def curves(recording: Recording, line: Line, rate_window: float) -> list[Curve]:
    """One line's curves: its series grouped by its labels; a counter's as rates over ``rate_window`` s."""
    raw = series_of(recording.of(line.endpoint), line.metric)
    how = sum if line.how == "sum" else max
    if line.kind == "rate":
        values = aggregate({key: rates(points, rate_window) for key, points in raw.items()}, line.by)
        added: dict[Labels, float] = {}
        for key, points in raw.items():
            grown = total_increase(points)
            if grown is not None:
                group = tuple((name, value) for name, value in key if name in line.by)
                added[group] = added.get(group, 0.0) + grown
    else:
        values, added = aggregate(raw, line.by, how), {}
    answers = [scrape.t for scrape in recording.of(line.endpoint) if scrape.answered]
    found = []
    for key, points in values.items():
        labels = dict(key)
        shown = {**labels, "shard": short_shard(labels["shard"])} if "shard" in labels else labels
        drawn = scaled(points, line.scale)
        last = next((p.value for p in reversed(drawn) if answers and p.t == answers[-1]), None)
        found.append(
            Curve(
                line,
                line.legend.format_map(shown),
                labels,
                drawn,
                added.get(key) if line.kind == "rate" else None,
                last,
            )
        )
    return found


def compute(recording: Recording, rate_window: float, panels: Sequence[Panel] = PANELS) -> list[PanelData]:
    """Every panel's curves (counters as rates over ``rate_window`` seconds), and when each endpoint did not answer."""
    return [
        PanelData(
            panel,
            [curve for line in panel.lines for curve in curves(recording, line, rate_window)],
            {
                endpoint: down_spans(recording.of(endpoint))
                for endpoint in dict.fromkeys(line.endpoint for line in panel.lines)
            },
        )
        for panel in panels
    ]


def headline(data: Sequence[PanelData]) -> str:
    """The latest figures on one line: the highest shard lag, then rows read, appended and published per second."""
    lag = [c.last for d in data for c in d.curves if c.line.metric == PANELS[0].lines[0].metric and c.last is not None]
    parts = [f"lag {max(lag):,.1f} s" if lag else "lag -"]
    for metric in (
        "article_pipeline_input_rows_total",
        "article_pipeline_table_rows_appended_total",
        "articles_published_total",
    ):
        parts.extend(
            f"{c.legend} {'-' if c.last is None else f'{c.last:,.1f}'}/s"
            for d in data
            for c in d.curves
            if c.line.metric == metric
        )
    return ", ".join(parts)


def panels_json(data: Sequence[PanelData]) -> list[dict[str, Any]]:
    """The computed panels for samples.json: per curve its labels, points ([t, value or null]), last, max, added."""
    return [
        {
            "title": panel.panel.title,
            "unit": panel.panel.unit,
            "curves": [
                {
                    "legend": curve.legend,
                    "metric": curve.line.metric,
                    "kind": curve.line.kind,
                    "labels": curve.labels,
                    "points": [[p.t, p.value] for p in curve.points],
                    "last": curve.last,
                    "max": curve.peak,
                    "added": curve.added,
                }
                for curve in panel.curves
            ],
            "not_answering": {endpoint: [list(span) for span in spans] for endpoint, spans in panel.down.items()},
        }
        for panel in data
    ]
