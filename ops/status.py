"""``make status``: one screen with the pipeline's health, stream, lag, latest batches and row counts."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any
from urllib.request import urlopen

from tabulate import tabulate

from common.aws import client
from common.contract import OUTPUTS
from common.env import SettingError
from jobs.kinesis.progress import latest_checkpointed_batch, latest_committed_batch, shard_ends
from jobs.settings import QUERY_NAMES, JobSettings
from jobs.watermark_drops import WatermarkDrops
from ops.defaults import apply_local_defaults
from ops.outputs import open_table
from publisher.settings import PublisherSettings


def query_rows(settings: JobSettings) -> list[list[Any]]:
    rows: list[list[Any]] = []
    files = settings.checkpoint_files()
    for query in QUERY_NAMES:
        root = settings.query_checkpoint(query)
        planned = latest_checkpointed_batch(files, root)
        dropped = WatermarkDrops.load(files, root).total
        if planned is None:
            rows.append([query, "-", "-", "-", "-", dropped, "no checkpoint yet"])
            continue
        offset = planned.source_offset
        ends = shard_ends(offset, settings.source_options(query)["positionLog"], settings.aws) if offset else {}
        lag = ", ".join(
            f"{shard[-3:]}: {end.millis_behind_latest} ms" if end else f"{shard[-3:]}: reading"
            for shard, end in ends.items()
        )
        read = sum(end.records for end in ends.values() if end)
        watermark = datetime.fromtimestamp(planned.watermark_ms / 1000, timezone.utc).isoformat(timespec="seconds")
        committed = latest_committed_batch(files, root)
        rows.append([query, planned.batch_id, "-" if committed is None else committed, read, watermark, dropped, lag])
    return rows


def output_rows(settings: JobSettings) -> list[list[Any]]:
    """Rows and version per table, from the Delta log's file statistics (cheap: no Parquet is read)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows: list[list[Any]] = []
    for table in OUTPUTS:
        location = f"s3://{settings.bucket_name}/{table}/"
        try:
            delta = open_table(settings.aws, settings.bucket_name, table)
        except Exception as error:
            rows.append([location, "-", f"unreadable: {error}"[:80]])
            continue
        if delta is None:
            rows.append([location, 0, "no table yet"])
            continue
        files = pa.table(delta.get_add_actions(flatten=True))  # the Delta log's add actions, with row counts
        rows.append([location, pc.sum(files["num_records"]).as_py() or 0, f"version {delta.version()}"])
    return rows


def publisher_health(bind: str) -> list[list[Any]]:
    try:
        with urlopen(f"http://{bind}/health", timeout=3) as response:
            body = json.load(response)
    except OSError as error:
        body = json.loads(error.read()) if hasattr(error, "read") else {"status": f"unreachable ({error})"}
    return [[key, value] for key, value in body.items()]


def stream_rows(settings: JobSettings) -> list[list[Any]]:
    try:
        # Short timeouts, one attempt: during an outage the screen says so at once instead of hanging.
        kinesis = client("kinesis", settings.aws, connect_timeout=2, read_timeout=5, retries={"max_attempts": 1})
        summary = kinesis.describe_stream_summary(StreamName=settings.stream_name)["StreamDescriptionSummary"]
    except Exception as error:
        return [["stream", settings.stream_name], ["status", f"unreachable: {error}"[:100]]]
    return [
        ["stream", settings.stream_name],
        ["status", summary["StreamStatus"]],
        ["open shards", summary["OpenShardCount"]],
        ["retention (h)", summary["RetentionPeriodHours"]],
    ]


def main() -> int:
    env = apply_local_defaults()
    try:
        settings = JobSettings.from_env(env)
        publisher = PublisherSettings.from_env(env)
    except SettingError as error:
        print(f"status: invalid setting: {error}", file=sys.stderr)
        return 2
    print(
        f"article-pipeline status  {datetime.now(timezone.utc).isoformat(timespec='seconds')}  "
        f"endpoint {settings.aws.endpoint_url or 'AWS'}"
    )
    print("\n== publisher  http://" + publisher.bind + "/health")
    print(tabulate(publisher_health(publisher.bind), tablefmt="plain"))
    print("\n== kinesis")
    print(tabulate(stream_rows(settings), tablefmt="plain"))
    print("\n== queries")
    print(
        tabulate(
            query_rows(settings),
            headers=[
                "query",
                "latest batch",
                "committed",
                "records read",
                "watermark",
                "dropped by watermark",
                "lag per shard",
            ],
        )
    )
    print("\n== tables (from the Delta log)")
    print(tabulate(output_rows(settings), headers=["table", "rows", "version"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
