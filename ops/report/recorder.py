"""Scraping the metrics endpoints over HTTP on a schedule, into a ``Recording``, with progress lines."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

from ops.report.recording import Recording, Scrape, parse_exposition

GIVE_UP_SECONDS = 20.0  # nothing answered this long after the start: stop early (the caller says what to start)


def scrape(endpoint: str, url: str, timeout: float, clock: Callable[[], float] = time.time) -> Scrape:
    """One scrape of ``url``: its samples, or why there are none (never raises for an endpoint's failure)."""
    try:
        with urlopen(url, timeout=timeout) as response:
            text = response.read().decode("utf-8", "replace")
        return Scrape(endpoint, clock(), parse_exposition(text))
    except HTTPError as error:
        return Scrape(endpoint, clock(), error=f"HTTP {error.code}")
    except URLError as error:
        return Scrape(endpoint, clock(), error=str(error.reason))
    except (OSError, ValueError) as error:  # a timeout, a reset connection, text that is not an exposition
        return Scrape(endpoint, clock(), error=str(error) or type(error).__name__)


@dataclass
class Recorder:
    """Scrapes every endpoint (name -> URL) each ``every`` seconds for ``duration`` seconds, or until ``stop`` is set.

    ``say`` gets the progress: the first failure of each endpoint (once; it shows as a gap), and
    ``progress(recording)`` every ``progress_every`` seconds. When nothing has answered after
    ``give_up`` seconds, it stops early with an empty recording.
    """

    endpoints: Mapping[str, str]
    every: float
    duration: float
    say: Callable[[str], None] = print
    progress: Callable[[Recording], str] | None = None
    progress_every: float = 10.0
    give_up: float = GIVE_UP_SECONDS
    stop: threading.Event | None = None

    def run(self) -> Recording:
        recording = Recording(dict(self.endpoints), self.every)
        stop = self.stop or threading.Event()
        timeout = max(1.0, min(self.every, 5.0))
        failed_once: set[str] = set()
        start = time.monotonic()
        shown_at = start
        tick = 0
        with ThreadPoolExecutor(max_workers=len(self.endpoints), thread_name_prefix="scrape") as pool:
            while tick * self.every <= self.duration + 1e-9:
                if stop.wait(max(0.0, start + tick * self.every - time.monotonic())):
                    break
                scrapes = list(pool.map(lambda item: scrape(item[0], item[1], timeout), self.endpoints.items()))
                recording.scrapes.extend(scrapes)
                for failed in scrapes:
                    if not failed.answered and failed.endpoint not in failed_once:
                        failed_once.add(failed.endpoint)
                        url = self.endpoints[failed.endpoint]
                        self.say(f"{failed.endpoint} metrics at {url} did not answer ({failed.error}): shown as a gap")
                now = time.monotonic()
                if recording.sample_count == 0 and now - start >= self.give_up:
                    self.say(f"nothing answered in {self.give_up:.0f} s: stopping")
                    break
                if self.progress is not None and (now - shown_at >= self.progress_every or tick == 0):
                    shown_at = now
                    self.say(f"{now - start:5.0f}/{self.duration:.0f} s  {self.progress(recording)}")
                tick = max(tick + 1, int((now - start) / self.every) + 1)  # a slow scrape skips the ticks it missed
        return recording
