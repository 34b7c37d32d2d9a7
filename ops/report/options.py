"""``make report``'s options: ``REPORT_ARGS`` and the environment, read once into ``ReportOptions``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from common.env import Duration, EnvReader, SettingError, parse_duration
from ops.defaults import with_local_defaults
from ops.report.panels import JOB, PUBLISHER

EXAMPLES = """\
examples (make report REPORT_ARGS="..."):
  --for 60s                          one minute instead of two
  --every 5s --for '10 minutes'      a longer run, fewer samples
  --publisher ''                     the job's endpoint only
  --job http://127.0.0.1:19404/metrics   e.g. through kubectl port-forward
  --replot .state/report/<run>/samples.json   draw a recorded run again

Durations take the pipeline's forms: 2s, 500ms, '2 minutes' (a bare number or 5m is refused).
Ctrl-C ends the recording early; what was recorded is still written.
"""


@dataclass(frozen=True)
class ReportOptions:
    """What to record, how often, for how long, and where to write."""

    endpoints: dict[str, str]  # name (job, publisher) -> metrics URL
    every: Duration
    duration: Duration
    rate_window: Duration  # counters are drawn as rates over this window (PromQL's rate(x[window]))
    out: Path  # the folder written: report.png, report.html, samples.json
    replot: Path | None  # a samples.json to draw again instead of recording

    @classmethod
    def parse(cls, argv: Sequence[str], environ: Mapping[str, str]) -> ReportOptions:
        """The options from the command line, defaults from the environment; ``SettingError`` names a bad one.

        The URLs default to ``JOB_METRICS_BIND`` and ``PUBLISHER_BIND`` with ``make run``'s
        defaults (ops/defaults.py); the folder to ``$STATE_DIR/report/<UTC time>/``.
        """
        state_dir = os.path.abspath(environ.get("STATE_DIR") or ".state")
        env = EnvReader(with_local_defaults(environ, state_dir))
        job_bind = env.bind("JOB_METRICS_BIND", "127.0.0.1:9404")
        publisher_bind = env.bind("PUBLISHER_BIND", "127.0.0.1:8000")
        parser = argparse.ArgumentParser(
            prog="make report",
            description="Record the job's and the publisher's /metrics, then draw the dashboard's main panels "
            "(PNG, HTML page, samples as JSON).",
            epilog=EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        job_url, publisher_url = f"http://{job_bind}/metrics", f"http://{publisher_bind}/metrics"
        parser.add_argument(
            "--every", metavar="DURATION", default="2 seconds", help="between scrapes (default: 2 seconds)"
        )
        parser.add_argument(
            "--for", dest="duration", metavar="DURATION", default="2 minutes", help="how long (default: 2 minutes)"
        )
        parser.add_argument(
            "--rate-window",
            metavar="DURATION",
            default="20 seconds",
            help="counters are drawn as rates over this window, as Grafana's rate() (default: 20 seconds)",
        )
        parser.add_argument(
            "--job", metavar="URL", default=job_url, help=f"the job's metrics ('' to skip; JOB_METRICS_BIND: {job_url})"
        )
        parser.add_argument(
            "--publisher",
            metavar="URL",
            default=publisher_url,
            help=f"the publisher's metrics ('' to skip; PUBLISHER_BIND: {publisher_url})",
        )
        parser.add_argument(
            "--out",
            metavar="DIR",
            help="folder to write (default: $STATE_DIR/report/<UTC time>/; --replot: its folder)",
        )
        parser.add_argument(
            "--replot", metavar="SAMPLES_JSON", help="draw a make report samples.json again, record nothing"
        )
        args = parser.parse_args(list(argv))
        every = parse_duration("--every", args.every)
        duration = parse_duration("--for", args.duration)
        rate_window = parse_duration("--rate-window", args.rate_window)
        if every < Duration(100):
            raise SettingError(f"--every must be at least 100 milliseconds, got {args.every!r}")
        if duration < every:
            raise SettingError(f"--for must be at least --every ({every}), got {args.duration!r}")
        endpoints = {name: url.strip() for name, url in ((JOB, args.job), (PUBLISHER, args.publisher)) if url.strip()}
        for name, url in endpoints.items():
            if not url.startswith(("http://", "https://")):
                raise SettingError(f"--{name} must be an http(s) URL like http://127.0.0.1:9404/metrics, got {url!r}")
        replot = Path(args.replot) if args.replot else None
        if replot is None and not endpoints:
            raise SettingError("--job and --publisher are both empty: nothing to record")
        if args.out:
            out = Path(args.out)
        elif replot is not None:
            out = replot.parent
        else:
            out = Path(state_dir) / "report" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        return cls(endpoints, every, duration, rate_window, out, replot)
