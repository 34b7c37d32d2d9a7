"""``make inspect``: the latest rows of each output as tables, read through the same S3 endpoint."""

from __future__ import annotations

import os
import sys
from typing import Any

from tabulate import tabulate

from common.contract import AUTHOR_STATS, ENRICHED_ARTICLES, QUARANTINE
from common.settings import EnvReader, SettingError
from ops.defaults import apply_local_defaults
from ops.outputs import read_output

_ROWS = int(os.environ.get("INSPECT_ROWS", "10"))


def show(title: str, table: list[dict[str, Any]]) -> None:
    print(f"\n== {title}")
    print(tabulate(table, headers="keys", tablefmt="simple", floatfmt=".1f") if table else "(no rows yet)")


def main() -> int:
    try:
        env = EnvReader(apply_local_defaults())
        aws, bucket = env.aws(), env.bucket_name()
    except SettingError as error:
        print(f"inspect: invalid setting: {error}", file=sys.stderr)
        return 2
    enriched = read_output(aws, bucket, ENRICHED_ARTICLES)
    print(f"s3://{bucket}/ via {aws.endpoint_url or 'AWS'}: {enriched.num_rows} enriched articles")
    if enriched.num_rows:
        latest = enriched.sort_by([("processed_at", "descending"), ("published_at", "descending")]).slice(0, _ROWS)
        show(
            "enriched_articles (latest)",
            latest.select(["published_at", "author", "word_count", "category", "title", "shard_id"]).to_pylist(),
        )
    stats = read_output(aws, bucket, AUTHOR_STATS)
    show(
        f"author_stats ({stats.num_rows} window rows; latest windows)",
        stats.sort_by([("window_end", "descending"), ("author", "ascending")]).slice(0, _ROWS).to_pylist()
        if stats.num_rows
        else [],
    )
    quarantine = read_output(aws, bucket, QUARANTINE)
    counts = (
        quarantine.group_by("error_reason").aggregate([("error_reason", "count")]).to_pylist()
        if quarantine.num_rows
        else []
    )
    show(f"quarantine ({quarantine.num_rows} rows) by reason", counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
