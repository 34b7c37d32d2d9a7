"""What ``make report`` scraped: samples per endpoint and time, and their JSON form (``samples.json``)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

FORMAT = 1  # the version of samples.json's layout


@dataclass(frozen=True)
class Sample:
    """One sample of the exposition: a sample name (``..._total`` for counters), its labels and value."""

    name: str
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Scrape:
    """One scrape of one endpoint at Unix time ``t``: its samples, or the error it answered with."""

    endpoint: str
    t: float
    samples: tuple[Sample, ...] = ()
    error: str | None = None

    @property
    def answered(self) -> bool:
        return self.error is None


def parse_exposition(text: str) -> tuple[Sample, ...]:
    """The samples of a Prometheus text exposition (``prometheus_client``'s parser).

    ``_created`` samples (when a counter was created) and values that are not finite are left out:
    no panel reads them, and JSON has no NaN. Raises ``ValueError`` on text that is not an exposition.
    """
    return tuple(
        Sample(sample.name, dict(sample.labels), float(sample.value))
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created") and math.isfinite(sample.value)
    )


@dataclass
class Recording:
    """The scrapes of a run, oldest first, and what was scraped (endpoint name -> URL)."""

    endpoints: dict[str, str]
    every_seconds: float
    scrapes: list[Scrape] = field(default_factory=list)

    def of(self, endpoint: str) -> list[Scrape]:
        """The scrapes of one endpoint, oldest first."""
        return [scrape for scrape in self.scrapes if scrape.endpoint == endpoint]

    def answered(self, endpoint: str) -> int:
        return sum(1 for scrape in self.of(endpoint) if scrape.answered)

    @property
    def sample_count(self) -> int:
        return sum(len(scrape.samples) for scrape in self.scrapes)

    @property
    def span(self) -> tuple[float, float] | None:
        """First and last scrape times (Unix), or None before the first scrape."""
        if not self.scrapes:
            return None
        times = [scrape.t for scrape in self.scrapes]
        return min(times), max(times)

    def recent(self, seconds: float) -> Recording:
        """The scrapes of the last ``seconds`` only (the progress lines compute from them, not from the whole run)."""
        span = self.span
        since = -math.inf if span is None else span[1] - seconds
        return Recording(self.endpoints, self.every_seconds, [s for s in self.scrapes if s.t >= since])

    def to_json(self) -> dict[str, Any]:
        """The JSON document of ``samples.json`` (``from_json`` reads it back)."""
        return {
            "format": FORMAT,
            "endpoints": self.endpoints,
            "every_seconds": self.every_seconds,
            "scrapes": [
                {
                    "endpoint": scrape.endpoint,
                    "t": scrape.t,
                    "error": scrape.error,
                    "samples": [[s.name, dict(s.labels), s.value] for s in scrape.samples],
                }
                for scrape in self.scrapes
            ],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Recording:
        """A recording from ``to_json``'s document; ``ValueError`` on another layout."""
        if doc.get("format") != FORMAT:
            raise ValueError(f"not a make report samples file (format {doc.get('format')!r}, expected {FORMAT})")
        return cls(
            endpoints=dict(doc["endpoints"]),
            every_seconds=float(doc["every_seconds"]),
            scrapes=[
                Scrape(
                    endpoint=item["endpoint"],
                    t=float(item["t"]),
                    samples=_samples(item["samples"]),
                    error=item["error"],
                )
                for item in doc["scrapes"]
            ],
        )


def _samples(rows: Iterable[list[Any]]) -> tuple[Sample, ...]:
    return tuple(Sample(str(name), dict(labels), float(value)) for name, labels, value in rows)
