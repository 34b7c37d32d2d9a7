"""Progress lines of a benchmark run."""

from __future__ import annotations

from datetime import datetime


def log(message: str) -> None:
    """Progress line on stdout (``make bench`` shows it as it runs)."""
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)
