"""``make reconcile``: does every published record end in exactly one place, and in the windows?

Reads the whole stream and classifies each record with the job's own contract and deduplication
rule (``DEDUP_WINDOW`` by arrival time, ``MAX_EVENT_TIME_LEAD``), then reads the three tables. Prints
published = enriched + quarantined + republished copies dropped, and how many enriched articles fell
outside every final ``author_stats`` window (published more than ``WATERMARK_DELAY`` before the newest
article the windows had seen: the watermark dropped them). Exits 1 unless every expected row is in
``enriched_articles`` exactly as often as the rule keeps it and every invalid record is quarantined.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tabulate import tabulate

from common.contract import AUTHOR_STATS, ENRICHED_ARTICLES, QUARANTINE, Article, parse_record
from common.env import SettingError
from jobs.dedup import Copy, KeptCopies
from jobs.settings import JobSettings
from ops.defaults import apply_local_defaults
from ops.outputs import read_output, stream_records

WINDOW = timedelta(minutes=5)
SLIDE = timedelta(minutes=1)


@dataclass(frozen=True)
class Reconciliation:
    published: int
    published_valid_ids: int
    published_invalid: int
    republished_dropped: int  # copies within DEDUP_WINDOW of a kept copy: dropped by design
    enriched: int
    quarantined: int
    duplicates: int
    missing: int
    unexpected: int
    outside_every_window: int  # enriched articles the author_stats watermark dropped

    @property
    def balanced(self) -> bool:
        return (
            self.duplicates == 0
            and self.missing == 0
            and self.unexpected == 0
            and self.quarantined == self.published_invalid
        )


def articles_outside_every_window(
    articles: Iterable[tuple[str, datetime]], windows: Iterable[tuple[datetime, str, int]]
) -> int:
    """Enriched articles (author, published_at) counted in no ``author_stats`` window, among final windows.

    The watermark drops a late article from all five of its windows at once. Sweeping each author's
    minutes in order, the earliest window holding minute m holds only minutes up to m, so what it lacks
    against the articles is exactly minute m's dropped articles once earlier minutes are settled.
    Windows ending after the newest window in the table may still come and are not counted.
    """
    counted = {(start, author): count for start, author, count in windows}
    if not counted:
        return 0
    final_until = max(start for start, _ in counted) + WINDOW
    per_minute: dict[str, Counter[datetime]] = defaultdict(Counter)
    for author, published_at in articles:
        per_minute[author][published_at.replace(second=0, microsecond=0)] += 1
    outside = 0
    for author, minutes in per_minute.items():
        dropped: Counter[datetime] = Counter()
        for minute in sorted(minutes):
            earliest = minute - WINDOW + SLIDE
            if earliest + WINDOW > final_until:
                break
            in_window = sum(minutes[earliest + SLIDE * k] for k in range(5))
            dropped_before = sum(dropped[earliest + SLIDE * k] for k in range(4))
            lacking = in_window - counted.get((earliest, author), 0) - dropped_before
            dropped[minute] = max(0, min(lacking, minutes[minute]))
        outside += sum(dropped.values())
    return outside


def reconcile(settings: JobSettings) -> Reconciliation:
    copies: list[Copy] = []
    invalid = 0
    published = 0
    for record in stream_records(settings.aws, settings.stream_name):
        published += 1
        arrival = record["ApproximateArrivalTimestamp"]
        outcome = parse_record(record["Data"], arrival, settings.max_event_time_lead.as_timedelta)
        if isinstance(outcome, Article):
            micros = int(arrival.timestamp() * 1_000_000)
            copies.append(Copy(micros, record["ShardId"], record["SequenceNumber"], outcome.article_id))
        else:
            invalid += 1
    dropped = KeptCopies(settings.dedup_window.milliseconds * 1000).decide(copies, lambda *_: []).dropped
    expected = Counter(copy.article_id for copy in copies) - Counter(copy.article_id for copy in dropped)
    enriched = read_output(settings.aws, settings.bucket_name, ENRICHED_ARTICLES)
    quarantined = read_output(settings.aws, settings.bucket_name, QUARANTINE)
    stats = read_output(settings.aws, settings.bucket_name, AUTHOR_STATS)
    enriched_ids = Counter(enriched.column("article_id").to_pylist()) if enriched.num_rows else Counter()
    outside = 0
    if enriched.num_rows and stats.num_rows:
        first_rows = {  # author_stats counts an article_id once even when republished beyond DEDUP_WINDOW
            article_id: (author, published_at)
            for article_id, author, published_at in zip(
                enriched.column("article_id").to_pylist(),
                enriched.column("author").to_pylist(),
                enriched.column("published_at").to_pylist(),
                strict=True,
            )
        }
        outside = articles_outside_every_window(
            first_rows.values(),
            zip(
                stats.column("window_start").to_pylist(),
                stats.column("author").to_pylist(),
                stats.column("article_count").to_pylist(),
                strict=True,
            ),
        )
    return Reconciliation(
        published=published,
        published_valid_ids=len(expected),
        published_invalid=invalid,
        republished_dropped=len(dropped),
        enriched=enriched.num_rows,
        quarantined=quarantined.num_rows,
        duplicates=sum((enriched_ids - expected).values()),
        missing=sum((expected - enriched_ids).values()),
        unexpected=len(set(enriched_ids) - set(expected)),
        outside_every_window=outside,
    )


def main() -> int:
    try:
        settings = JobSettings.from_env(apply_local_defaults())
    except SettingError as error:
        print(f"reconcile: invalid setting: {error}", file=sys.stderr)
        return 2
    result = reconcile(settings)
    print(
        tabulate(
            [
                ["published records", result.published],
                ["  valid, distinct article_id", result.published_valid_ids],
                [
                    f"  valid, republished within DEDUP_WINDOW ({settings.dedup_window}): dropped",
                    result.republished_dropped,
                ],
                ["  invalid", result.published_invalid],
                ["enriched rows", result.enriched],
                ["quarantined rows", result.quarantined],
                [
                    "published = enriched + quarantined + dropped republished",
                    "yes"
                    if result.published == result.enriched + result.quarantined + result.republished_dropped
                    else "NO",
                ],
                ["duplicate rows in enriched", result.duplicates],
                ["expected rows missing from enriched", result.missing],
                ["enriched ids never published", result.unexpected],
                [
                    f"enriched articles outside every author_stats window (late beyond WATERMARK_DELAY {settings.watermark_delay})",
                    result.outside_every_window,
                ],
            ],
            headers=["", "count"],
        )
    )
    print("BALANCED" if result.balanced else "NOT BALANCED: see the rows above")
    return 0 if result.balanced else 1


if __name__ == "__main__":
    sys.exit(main())
