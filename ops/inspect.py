"""``make inspect``: the latest rows of each table, read through its Delta log into Arrow and queried with DuckDB."""

from __future__ import annotations

import sys
from typing import Any

from tabulate import tabulate

from common.contract import AUTHOR_STATS, ENRICHED_ARTICLES, QUARANTINE
from common.env import SettingError
from common.settings import PipelineEnv
from ops.defaults import apply_local_defaults
from ops.outputs import read_output
from ops.settings import OpsSettings

# What each table shows on screen; {rows} is INSPECT_ROWS. Tables with no rows print "(no rows yet)".
_QUERIES = {
    ENRICHED_ARTICLES: "SELECT published_at, author, word_count, category, title, shard_id FROM t "
    "ORDER BY processed_at DESC, published_at DESC LIMIT {rows}",
    AUTHOR_STATS: "SELECT window_start, window_end, author, round(avg_word_count, 1) AS avg_word_count, "
    "article_count FROM t ORDER BY window_end DESC, author LIMIT {rows}",
    QUARANTINE: "SELECT error_reason, count(*) AS records FROM t GROUP BY error_reason ORDER BY records DESC",
}


def show(title: str, arrow: Any, query: str) -> None:
    import duckdb

    print(f"\n== {title} ({arrow.num_rows} rows)")
    if not arrow.num_rows:
        print("(no rows yet)")
        return
    result = duckdb.connect().register("t", arrow).sql(query)
    print(tabulate(result.fetchall(), headers=result.columns, tablefmt="simple"))


def main() -> int:
    try:
        env = PipelineEnv(apply_local_defaults())
        aws, bucket, rows = env.aws("ops"), env.bucket_name(), OpsSettings.read(env).inspect_rows
    except SettingError as error:
        print(f"inspect: invalid setting: {error}", file=sys.stderr)
        return 2
    print(f"s3://{bucket}/ via {aws.endpoint_url or 'AWS'}")
    for table, query in _QUERIES.items():
        show(table, read_output(aws, bucket, table), query.format(rows=rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
