"""SIGKILL the job at several points, restart it from the same checkpoint, reconcile the outputs.

The kill points are found by watching what the job leaves behind (no hook in the job):
after the source has read (a new shard-position log entry), right after an enriched_articles
commit (before the quarantine commit and Spark's), and before Spark's commit (an ``offsets/N``
file whose ``commits/N`` does not exist yet). The tables, read through their Delta log, must
hold every valid article exactly once and every malformed record once in quarantine. It runs
twice: polling (moto) and enhanced fan-out (kinesis-local, the emulator with SubscribeToShard).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pipeline_testing import REPO, KilledJobRuns, stream_of_articles

from common.settings import AwsSettings
from jobs.kinesis.positions import ShardEnd
from ops.outputs import read_output

pytestmark = pytest.mark.e2e
ARTICLES = 240
MALFORMED = [
    b"{broken json",
    b"\xff\xfe not utf-8",
    b'["an", "array"]',
    json.dumps({"article_id": "no-time", "author": "A", "body": "words"}).encode(),
]


def files(directory: Path, pattern: str) -> set[str]:
    return {str(p) for p in directory.glob(pattern) if not p.name.startswith(".")} if directory.exists() else set()


def delta_log(s3: Any, bucket: str, table: str) -> list[list[dict[str, Any]]]:
    """The actions of each commit of a Delta table, in version order (read from ``_delta_log/``)."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{table}/_delta_log/")
    keys = sorted(item["Key"] for item in listed.get("Contents", []) if item["Key"].endswith(".json"))
    return [
        [json.loads(line) for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().splitlines() if line]
        for key in keys
    ]


def delta_commits(s3: Any, bucket: str, table: str = "enriched_articles") -> int:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{table}/_delta_log/")
    return sum(1 for item in listed.get("Contents", []) if item["Key"].endswith(".json"))


def uncommitted_offset(spark_dir: Path) -> bool:
    offsets = {int(Path(p).name) for p in files(spark_dir / "offsets", "[0-9]*")}
    commits = {int(Path(p).name) for p in files(spark_dir / "commits", "[0-9]*")}
    return bool(offsets - commits) and max(offsets) > 1


def batch_appends(s3: Any, bucket: str, table: str) -> tuple[int, int]:
    """(appends committed, appends that carry a (txnAppId, txnVersion) committed before): the second must be 0."""
    transactions = [
        (action["txn"]["appId"], action["txn"]["version"])
        for commit in delta_log(s3, bucket, table)
        for action in commit
        if "txn" in action
    ]
    return len(transactions), len(transactions) - len(set(transactions))


def kinesis_for(read_mode: str, request: pytest.FixtureRequest) -> tuple[str, Any, dict[str, str]]:
    """(Kinesis endpoint, client, extra job settings) of a read mode: polling on moto, fan-out on kinesis-local."""
    if read_mode == "polling":
        return request.getfixturevalue("moto_endpoint"), request.getfixturevalue("kinesis"), {}
    endpoint = request.getfixturevalue("kinesis_local_endpoint")
    return endpoint, request.getfixturevalue("kinesis_local"), {"KINESIS_CONSUMER_NAME": "crash-test"}


@pytest.mark.parametrize("read_mode", ["polling", "fan-out"])
def test_sigkill_at_any_point_loses_and_repeats_nothing(
    read_mode: str,
    request: pytest.FixtureRequest,
    moto_endpoint: str,
    aws: AwsSettings,
    s3: Any,
    names: dict,
    tmp_path: Path,
) -> None:
    stream, bucket = names["stream"], names["bucket"]
    kinesis_endpoint, kinesis, mode_settings = kinesis_for(read_mode, request)
    valid_ids = stream_of_articles(kinesis, s3, names, count=ARTICLES, seed=5, authors=4, malformed=MALFORMED)

    checkpoints = tmp_path / "checkpoints"
    env = {
        **os.environ,
        **mode_settings,
        "AWS_ENDPOINT_URL": kinesis_endpoint,
        "AWS_ENDPOINT_URL_S3": moto_endpoint,
        "KINESIS_STREAM_NAME": stream,
        "S3_BUCKET_NAME": bucket,
        "CHECKPOINT_LOCATION": str(checkpoints),
        "SPARK_MASTER_URL": "local[2]",
        "TRIGGER_INTERVAL": "1 second",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "SHUFFLE_PARTITIONS": "2",
        "MAX_RECORDS_PER_SHARD": "12",
        "PYTHONPATH": str(REPO),
    }
    articles_spark = checkpoints / "articles"
    positions = articles_spark / "kinesis-positions"
    runs = KilledJobRuns(env, tmp_path)
    run_until = runs.run_until

    # 1: mid-read: right after the source recorded a new end in the position log.
    before = files(positions, "*/*/*.json")
    run_until(lambda: len(files(positions, "*/*/*.json") - before) >= 1, "a shard-position log entry")
    # 2: after the enriched commit, before the quarantine commit and Spark's: right after a new
    # enriched_articles commit appears.
    seen = delta_commits(s3, bucket)
    run_until(lambda: delta_commits(s3, bucket) > seen, "a new enriched_articles commit")
    # 3: before the commit: an offsets/N file without commits/N.
    run_until(lambda: uncommitted_offset(articles_spark), "a planned, uncommitted batch")
    # 4: between batches, at a moment that depends on the machine's speed.
    commits = len(files(articles_spark / "commits", "[0-9]*"))
    run_until(lambda: len(files(articles_spark / "commits", "[0-9]*")) > commits + 1, "two more committed batches")
    # 5: once more right after output appears, then let it catch up.
    seen = delta_commits(s3, bucket)
    run_until(lambda: delta_commits(s3, bucket) > seen, "another enriched_articles commit")

    def caught_up() -> bool:
        return read_output(aws, bucket, "enriched_articles").num_rows >= ARTICLES and read_output(
            aws, bucket, "quarantine"
        ).num_rows >= len(MALFORMED)

    run_until(caught_up, "every article in S3")

    enriched = read_output(aws, bucket, "enriched_articles").to_pylist()
    counts = Counter(row["article_id"] for row in enriched)
    assert set(counts) == valid_ids and set(counts.values()) == {1}, (
        f"duplicates: {[i for i, c in counts.items() if c > 1][:5]}, missing: {len(valid_ids - set(counts))}"
    )
    quarantine = read_output(aws, bucket, "quarantine").to_pylist()
    assert sorted(row["error_reason"] for row in quarantine) == sorted(
        ["invalid_json", "invalid_utf8", "not_an_object", "missing_field"]
    )

    # Every append carries (txnAppId, txnVersion = batch id): a batch replayed after a kill is
    # skipped by Delta, so no transaction may appear in two commits.
    appends, repeated = batch_appends(s3, bucket, "enriched_articles")
    quarantine_appends, quarantine_repeated = batch_appends(s3, bucket, "quarantine")
    read_entries = [ShardEnd.from_json(json.loads(Path(p).read_text())) for p in files(positions, "*/*/*.json")]
    print(
        f"crash test ({read_mode}): {len(runs.logs)} runs ({len(runs.logs) - 1} SIGKILLs), {len(valid_ids) + len(MALFORMED)} published, "
        f"{sum(e.records for e in read_entries)} read by the source (position log), {appends} enriched and "
        f"{quarantine_appends} quarantine batch commits, {repeated + quarantine_repeated} repeated; "
        f"{len(enriched)} enriched + {len(quarantine)} quarantined rows in the tables"
    )
    assert repeated == 0 and quarantine_repeated == 0, "a replayed batch was committed twice"
    assert sum(e.records for e in read_entries) == len(valid_ids) + len(MALFORMED), "each record read in one batch"
    if read_mode == "fan-out":
        assert all(e.subscribe_calls and not e.get_records_calls for e in read_entries if e.records), (
            "first attempts read through subscriptions"
        )
