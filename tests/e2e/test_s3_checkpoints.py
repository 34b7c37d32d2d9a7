"""Checkpoints and shard-position logs on S3 (``CHECKPOINT_LOCATION=s3://...``): nothing on local disk.

The choice for clusters without ReadWriteMany storage, where executors run on any node. The job is
SIGKILLed between planning a batch and committing it (an ``offsets/N`` object on S3 whose
``commits/N`` does not exist yet) and restarted: every article must land exactly once, and
``make status`` must read the query's progress from S3.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pipeline_testing import REPO, KilledJobRuns, job_settings, stream_of_articles
from test_crash_restart import batch_appends

from common.settings import AwsSettings
from ops.outputs import read_output
from ops.status import query_rows

pytestmark = pytest.mark.e2e
ARTICLES = 160
MALFORMED = [b"{broken json", b'["an", "array"]']


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    paginator = s3.get_paginator("list_objects_v2")
    return [
        item["Key"] for page in paginator.paginate(Bucket=bucket, Prefix=prefix) for item in page.get("Contents", [])
    ]


def batches(s3: Any, bucket: str, log_prefix: str) -> set[int]:
    """The batch numbers of one of Spark's logs (``.../offsets/``, ``.../commits/``) on S3."""
    return {int(name) for key in keys(s3, bucket, log_prefix) if (name := key.rsplit("/", 1)[-1]).isdigit()}


def test_checkpoints_on_s3_survive_a_kill_with_every_article_once(
    moto_endpoint: str, aws: AwsSettings, kinesis: Any, s3: Any, names: dict, tmp_path: Path
) -> None:
    stream, bucket = names["stream"], names["bucket"]
    valid_ids = stream_of_articles(kinesis, s3, names, count=ARTICLES, seed=11, authors=3, malformed=MALFORMED)

    location = f"s3://{bucket}/checkpoints"
    environ = {
        "CHECKPOINT_LOCATION": location,
        "SPARK_MASTER_URL": "local[2]",
        "TRIGGER_INTERVAL": "1 second",
        "SHUFFLE_PARTITIONS": "2",
        "MAX_RECORDS_PER_SHARD": "12",
    }
    env = {
        **os.environ,
        **environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "KINESIS_STREAM_NAME": stream,
        "S3_BUCKET_NAME": bucket,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "PYTHONPATH": str(REPO),
    }
    runs = KilledJobRuns(env, tmp_path)

    def uncommitted_offset() -> bool:
        planned = batches(s3, bucket, "checkpoints/articles/offsets/")
        return bool(planned - batches(s3, bucket, "checkpoints/articles/commits/")) and max(planned) > 1

    runs.run_until(uncommitted_offset, "a planned, uncommitted batch on S3")
    killed_at = max(batches(s3, bucket, "checkpoints/articles/offsets/"))

    def caught_up() -> bool:
        return read_output(aws, bucket, "enriched_articles").num_rows >= ARTICLES and read_output(
            aws, bucket, "quarantine"
        ).num_rows >= len(MALFORMED)

    runs.run_until(caught_up, "every article in S3")

    counts = Counter(row["article_id"] for row in read_output(aws, bucket, "enriched_articles").to_pylist())
    assert set(counts) == valid_ids and set(counts.values()) == {1}, (
        f"duplicates: {[i for i, c in counts.items() if c > 1][:5]}, missing: {len(valid_ids - set(counts))}"
    )
    reasons = sorted(row["error_reason"] for row in read_output(aws, bucket, "quarantine").to_pylist())
    assert reasons == ["invalid_json", "not_an_object"]
    appends, repeated = batch_appends(s3, bucket, "enriched_articles")
    assert appends > 0 and repeated == 0, "a replayed batch was committed twice"

    # Everything the queries keep lives under the S3 location: Spark's logs and state, the
    # position log, the job's own files.
    stored = keys(s3, bucket, "checkpoints/")
    for expected in (
        "checkpoints/articles/metadata",
        "checkpoints/articles/kinesis-positions/",
        "checkpoints/author_stats/metadata",
        "checkpoints/author_stats/watermark-drops.json",
    ):
        assert any(key.startswith(expected) for key in stored), f"no {expected} on S3 among {len(stored)} objects"
    status = {row[0]: row for row in query_rows(job_settings(aws, stream, bucket, **environ))}
    committed = status["articles"][2]
    assert isinstance(committed, int) and committed >= killed_at, f"make status read {status['articles']}"
    print(f"s3 checkpoints: killed at batch {killed_at}, {appends} enriched commits, {len(stored)} checkpoint objects")
