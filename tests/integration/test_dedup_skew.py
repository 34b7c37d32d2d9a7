"""Deduplication against a skewed backlog: every article once, whatever the shards' lag.

A hot shard holds a long backlog and a cold shard a few later articles; the job reads both at
``MAX_RECORDS_PER_SHARD`` per batch, so the cold shard is read far ahead of the hot one in arrival
time. No article may be dropped for that; producer retries (the same record again seconds after
the first copy, on its shard) inside ``DEDUP_WINDOW`` are dropped even when read many batches
later; a copy republished beyond the window is kept.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pipeline_testing import create_stream, wait_until

from common.contract import ENRICHED_ARTICLES, QUARANTINE
from common.settings import AwsSettings
from jobs.queries import start_queries
from jobs.settings import JobSettings
from ops.outputs import read_output
from publisher.articles import ArticleGenerator

pytestmark = pytest.mark.integration
HOT, COLD = 1_000, 40
DEDUP_WINDOW_SECONDS = 5


def hash_keys(kinesis: Any, stream: str) -> list[str]:
    """An ExplicitHashKey inside each shard's range: records go where the test says."""
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    return [shard["HashKeyRange"]["StartingHashKey"] for shard in shards]


def put(kinesis: Any, stream: str, articles: list[dict[str, Any]], hash_key: str) -> None:
    records = [
        {"Data": json.dumps(a).encode(), "PartitionKey": a["article_id"], "ExplicitHashKey": hash_key} for a in articles
    ]
    for begin in range(0, len(records), 500):
        assert kinesis.put_records(StreamName=stream, Records=records[begin : begin + 500])["FailedRecordCount"] == 0


def test_a_skewed_backlog_lands_every_article_once(
    spark: Any, aws: AwsSettings, kinesis: Any, s3: Any, names: dict[str, str], tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 2)
    s3.create_bucket(Bucket=names["bucket"])
    hot_key, cold_key = hash_keys(kinesis, names["stream"])
    generator = ArticleGenerator(seed=5, authors=4)
    hot = [generator.article() for _ in range(HOT)]
    put(kinesis, names["stream"], hot, hot_key)
    retried = hot[:5]  # a producer's retries: the same records again, within the window of the first copies
    put(kinesis, names["stream"], retried, hot_key)
    first_put_done = time.monotonic()
    # Arrival times, not Spark, need this gap: the cold shard's articles arrive later than the window.
    time.sleep(DEDUP_WINDOW_SECONDS * 1.5)
    cold = [generator.article() for _ in range(COLD)]
    put(kinesis, names["stream"], cold, cold_key)
    republished = hot[10]  # again, long after the window: a new publication, kept
    put(kinesis, names["stream"], [republished], hot_key)
    assert time.monotonic() - first_put_done > DEDUP_WINDOW_SECONDS

    settings = JobSettings.from_env(
        {
            "AWS_ENDPOINT_URL": aws.endpoint_url or "",
            "AWS_REGION": aws.region,
            "KINESIS_STREAM_NAME": names["stream"],
            "S3_BUCKET_NAME": names["bucket"],
            "CHECKPOINT_LOCATION": str(tmp_path / "checkpoints"),
            "TRIGGER_INTERVAL": "available-now",
            "DEDUP_WINDOW": f"{DEDUP_WINDOW_SECONDS} seconds",
            "MAX_RECORDS_PER_SHARD": "250",
            "COMPACT_EVERY_BATCHES": "0",
        }
    )
    queries = start_queries(spark, settings)
    try:
        wait_until(lambda: not any(q.isActive for q in queries), 300, "both queries to drain the backlog")
    finally:
        for query in queries:
            query.stop()
    for query in queries:
        assert query.exception() is None, query.exception()

    enriched = Counter(read_output(aws, names["bucket"], ENRICHED_ARTICLES).column("article_id").to_pylist())
    expected = Counter(a["article_id"] for a in hot + cold + [republished])
    assert sum(enriched.values()) == HOT + COLD + 1, f"{sum(enriched.values())} rows of {HOT + COLD + 1}"
    assert enriched == expected
    assert read_output(aws, names["bucket"], QUARANTINE).num_rows == 0
