"""``make report`` / ``python -m ops.report``: record the metrics endpoints, then write the PNG, HTML and JSON.

``REPORT_ARGS="--help"`` lists the options (ops/report/options.py). Exits 0 with the paths
written, 1 when nothing answered (saying what to start and which URLs were tried), 2 on a bad
option.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from tabulate import tabulate

from common.env import SettingError
from ops.report.options import ReportOptions
from ops.report.panels import compute, headline, panels_json
from ops.report.recorder import Recorder
from ops.report.recording import Recording
from ops.report.render import SUMMARY_HEADERS, span_text, summary_rows, write_html, write_png


def say(message: str) -> None:
    print(f"[report {datetime.now():%H:%M:%S}] {message}", flush=True)


@contextmanager
def stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C (SIGINT) or SIGTERM sets ``stop`` instead of interrupting: the recording so far is still written."""

    def on_signal(signum: int, _frame: Any) -> None:
        if not stop.is_set():
            say(f"{signal.Signals(signum).name}: stopping early, writing what was recorded")
        stop.set()

    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def progress_line(recording: Recording, rate_window: float) -> str:
    """Scrapes so far and the latest figures, from the last few scrapes (cheap however long the run)."""
    if recording.sample_count == 0:
        return f"{len(recording.scrapes)} scrapes; nothing answered yet"
    recent = recording.recent(max(2 * rate_window, 3 * recording.every_seconds))
    return f"{len(recording.scrapes)} scrapes; {headline(compute(recent, rate_window))}"


def record(options: ReportOptions, stop: threading.Event) -> Recording:
    """Scrape ``options.endpoints`` for the options' duration (or until ``stop``), saying what it does."""
    window = options.rate_window.seconds
    targets = ", ".join(f"{name} {url}" for name, url in options.endpoints.items())
    say(f"recording {targets} every {options.every} for {options.duration} (Ctrl-C ends early and still writes)")
    return Recorder(
        options.endpoints,
        options.every.seconds,
        options.duration.seconds,
        say=say,
        progress=lambda recording: progress_line(recording, window),
        stop=stop,
    ).run()


def nothing_answered(options: ReportOptions) -> str:
    tried = " and ".join(f"{url} ({name})" for name, url in options.endpoints.items())
    return (
        f"make report: no samples: nothing answered at {tried}. Start the pipeline first (`make run` in another "
        "terminal, with the same JOB_METRICS_BIND and PUBLISHER_BIND), or point REPORT_ARGS='--job URL "
        "--publisher URL' at what serves them"
    )


def write(recording: Recording, options: ReportOptions) -> list[Path]:
    """samples.json first (a recording is never lost to a drawing error), then report.png and report.html."""
    data = compute(recording, options.rate_window.seconds)
    options.out.mkdir(parents=True, exist_ok=True)
    samples = options.out / "samples.json"
    doc = {**recording.to_json(), "rate_window_seconds": options.rate_window.seconds, "panels": panels_json(data)}
    samples.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    png = write_png(data, recording, options.out / "report.png")
    page = write_html(data, recording, png, samples, options.out / "report.html")
    print(tabulate(summary_rows(data), headers=SUMMARY_HEADERS, disable_numparse=True), flush=True)
    return [png, page, samples]


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    try:
        options = ReportOptions.parse(
            sys.argv[1:] if argv is None else argv, os.environ if environ is None else environ
        )
    except SettingError as error:
        print(f"make report: invalid setting: {error}", file=sys.stderr)
        return 2
    if options.replot is not None:
        try:
            recording = Recording.from_json(json.loads(options.replot.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as error:
            print(f"make report: cannot read {options.replot}: {error}", file=sys.stderr)
            return 2
    else:
        stop = threading.Event()
        with stopped_by_signals(stop):
            recording = record(options, stop)
    if recording.sample_count == 0:
        print(nothing_answered(options), file=sys.stderr)
        return 1
    for name, url in recording.endpoints.items():
        answered, scrapes = recording.answered(name), len(recording.of(name))
        if answered < scrapes:
            say(f"{name} ({url}): {scrapes - answered} of {scrapes} scrapes unanswered (gaps in the plot)")
    say(f"{span_text(recording)}: {len(recording.scrapes)} scrapes, {recording.sample_count:,} samples")
    try:
        written = write(recording, options)
    except RuntimeError as error:  # matplotlib missing
        print(f"make report: {error}; the samples are in {options.out / 'samples.json'}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
