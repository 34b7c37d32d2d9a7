"""``make reconcile``: does every published record end in exactly one place?

Reads the whole stream and classifies each record with the job's own parser, then reads
``enriched_articles/`` and ``quarantine/``. Prints published / enriched / quarantined /
duplicates and exits 1 unless: enriched ids = distinct valid ids published, quarantined
= invalid records published, and no article_id appears twice in ``enriched_articles/``.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass

from tabulate import tabulate

from common.contract import ENRICHED_ARTICLES, QUARANTINE, Article, parse_record
from common.settings import AwsSettings, EnvReader, SettingError
from ops.defaults import apply_local_defaults
from ops.outputs import read_output, stream_records


@dataclass(frozen=True)
class Reconciliation:
    published: int
    published_valid_ids: int
    published_invalid: int
    republished_duplicates: int
    enriched: int
    quarantined: int
    duplicates: int
    missing: int
    unexpected: int

    @property
    def balanced(self) -> bool:
        return (
            self.duplicates == 0
            and self.missing == 0
            and self.unexpected == 0
            and self.quarantined == self.published_invalid
        )


def reconcile(aws: AwsSettings, stream_name: str, bucket: str) -> Reconciliation:
    valid_ids: Counter[str] = Counter()
    invalid = 0
    published = 0
    for record in stream_records(aws, stream_name):
        published += 1
        outcome = parse_record(record["Data"], record["ApproximateArrivalTimestamp"])
        if isinstance(outcome, Article):
            valid_ids[outcome.article_id] += 1
        else:
            invalid += 1
    enriched = read_output(aws, bucket, ENRICHED_ARTICLES)
    quarantined = read_output(aws, bucket, QUARANTINE)
    enriched_ids = Counter(enriched.column("article_id").to_pylist()) if enriched.num_rows else Counter()
    return Reconciliation(
        published=published,
        published_valid_ids=len(valid_ids),
        published_invalid=invalid,
        republished_duplicates=sum(n - 1 for n in valid_ids.values()),
        enriched=enriched.num_rows,
        quarantined=quarantined.num_rows,
        duplicates=sum(n - 1 for n in enriched_ids.values()),
        missing=len(set(valid_ids) - set(enriched_ids)),
        unexpected=len(set(enriched_ids) - set(valid_ids)),
    )


def main() -> int:
    try:
        env = EnvReader(apply_local_defaults())
        aws, stream, bucket = env.aws(), env.stream_name(), env.bucket_name()
    except SettingError as error:
        print(f"reconcile: invalid setting: {error}", file=sys.stderr)
        return 2
    result = reconcile(aws, stream, bucket)
    print(
        tabulate(
            [
                ["published records", result.published],
                ["  valid, distinct article_id", result.published_valid_ids],
                ["  valid, republished duplicates (dropped by design)", result.republished_duplicates],
                ["  invalid", result.published_invalid],
                ["enriched rows", result.enriched],
                ["quarantined rows", result.quarantined],
                ["duplicate article_ids in enriched", result.duplicates],
                ["valid ids missing from enriched", result.missing],
                ["enriched ids never published", result.unexpected],
            ],
            headers=["", "count"],
        )
    )
    print("BALANCED" if result.balanced else "NOT BALANCED: see the rows above")
    return 0 if result.balanced else 1


if __name__ == "__main__":
    sys.exit(main())
