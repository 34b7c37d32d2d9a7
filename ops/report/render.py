"""Drawing the report: a PNG of the panels (matplotlib, as bench/plots.py), a self-contained HTML page, a table."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ops.report.panels import PanelData
from ops.report.recording import Recording

MISSING_MATPLOTLIB = (
    "matplotlib is missing: it comes with the dev extra that `make venv` installs "
    "(pip install 'article-pipeline[dev]' elsewhere)"
)
SUMMARY_HEADERS = ["panel", "series", "last", "max", "added in the span"]


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, timezone.utc)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    size = abs(value)
    return f"{value:,.0f}" if size >= 100 else f"{value:,.1f}" if size >= 10 or value == 0 else f"{value:,.2f}"


def summary_rows(data: Sequence[PanelData]) -> list[list[str]]:
    """A row per curve: its last value and its highest, and for a counter what it added over the span."""
    return [
        [panel.panel.title, curve.legend, _number(curve.last), _number(curve.peak), _number(curve.added)]
        for panel in data
        for curve in panel.curves
    ]


def span_text(recording: Recording) -> str:
    span = recording.span
    if span is None:
        return "no scrapes"
    start, end = span
    every = recording.every_seconds
    return f"{_utc(start):%Y-%m-%d %H:%M:%S} to {_utc(end):%H:%M:%S} UTC ({end - start:.0f} s, every {every:g} s)"


def write_png(data: Sequence[PanelData], recording: Recording, path: Path) -> Path:
    """The panels as subplots of one figure (two columns), gaps as breaks, unanswered spans shaded."""
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError(MISSING_MATPLOTLIB) from None
    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    rows = math.ceil(len(data) / 2)
    fig, axes = plt.subplots(rows, 2, figsize=(13, 3.3 * rows), sharex=True, squeeze=False)
    clock = mdates.DateFormatter("%H:%M:%S", tz=timezone.utc)  # type: ignore[no-untyped-call]  # untyped in matplotlib
    for axis, panel in zip(axes.flat, data, strict=False):
        _draw_panel(axis, panel)
        axis.xaxis.set_major_formatter(clock)
    for axis in list(axes.flat)[len(data) :]:
        axis.set_visible(False)
    for axis in axes[-1]:
        axis.set_xlabel("UTC")
    fig.suptitle(f"article-pipeline  {span_text(recording)}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _draw_panel(axis: Any, panel: PanelData) -> None:
    for endpoint, spans in panel.down.items():
        for number, (start, end) in enumerate(spans):
            label = f"{endpoint} not answering" if number == 0 else None
            axis.axvspan(_utc(start), _utc(end), color="tab:red", alpha=0.12, linewidth=0, label=label)
    for curve in panel.curves:
        times = [_utc(p.t) for p in curve.points]
        values = [math.nan if p.value is None else p.value for p in curve.points]  # NaN: a break in the line
        if panel.panel.state:
            axis.step(times, values, where="post", label=curve.legend)
        else:
            axis.plot(times, values, label=curve.legend, linewidth=1.3)
    if panel.panel.state:
        axis.set_ylim(-0.1, 1.2)
        axis.set_yticks([0, 1], ["ok", "outage"])
    else:
        peaks = [curve.peak for curve in panel.curves if curve.peak is not None]
        axis.set_ylim(0, max(peaks) * 1.15 if peaks and max(peaks) > 0 else 1)
    if not panel.curves:
        axis.text(0.5, 0.5, "no samples in this span", transform=axis.transAxes, ha="center", color="grey")
    axis.set_title(panel.panel.title, fontsize=10)
    axis.set_ylabel(panel.panel.unit, fontsize=8)
    axis.tick_params(labelsize=7)
    axis.grid(alpha=0.3)
    if axis.get_legend_handles_labels()[0]:
        axis.legend(fontsize=7, loc="upper left")


def write_html(data: Sequence[PanelData], recording: Recording, png: Path, samples: Path, path: Path) -> Path:
    """One page with the PNG inlined, the time span, the endpoints and the table of ``summary_rows``."""
    image = base64.b64encode(png.read_bytes()).decode("ascii")
    endpoints = "".join(
        f"<li>{html.escape(name)}: <code>{html.escape(url)}</code>, "
        f"{recording.answered(name)} of {len(recording.of(name))} scrapes answered</li>"
        for name, url in recording.endpoints.items()
    )
    header = "".join(f"<th>{html.escape(h)}</th>" for h in SUMMARY_HEADERS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in summary_rows(data)
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>article-pipeline report {html.escape(span_text(recording))}</title>
<style>
body {{ font-family: sans-serif; margin: 1em auto; max-width: 1060px; color: #222 }}
table {{ border-collapse: collapse; font-size: 90% }}
th, td {{ border: 1px solid #ccc; padding: 2px 8px }} td:nth-child(n+3) {{ text-align: right }}
img {{ max-width: 100% }}
</style></head><body>
<h1>article-pipeline: the dashboard's main panels</h1>
<p>{html.escape(span_text(recording))}. Counters are drawn as rates per second; unanswered scrapes are gaps
(shaded).</p>
<ul>{endpoints}</ul>
<img alt="Kinesis lag per shard, throughput in and out, batch duration, quarantine by reason, outage state"
 src="data:image/png;base64,{image}">
<h2>Last values</h2>
<table><tr>{header}</tr>{body}</table>
<p>Samples: <code>{html.escape(str(samples))}</code>
(<code>make report REPORT_ARGS="--replot {html.escape(str(samples))}"</code> draws them again).</p>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path
