"""The whole pipeline, as a user runs it: publisher (gunicorn) -> moto Kinesis -> Spark job -> S3.

A known set of articles is published (through the publisher's own generator and its
POST /articles endpoint, with event times spread so windows close, one article twice) plus
malformed records; the job runs until it has caught up; then every output is checked
against expectations computed here, independently of the job.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import pytest
from pipeline_testing import REPO, job_settings, wait_until

from common.contract import Article, parse_record
from common.settings import AwsSettings
from ops.outputs import read_output, stream_records
from ops.processes import free_port, wait_for_http
from ops.reconcile import reconcile
from publisher.articles import ArticleGenerator

pytestmark = pytest.mark.e2e
API_TOKEN = "e2e-token-0123456789"
WATERMARK_DELAY = timedelta(minutes=2)
MALFORMED = [
    b"{broken json",
    b"\xff\xfe\xfd not utf-8",
    b'["an", "array"]',
    json.dumps({"article_id": str(uuid.uuid4()), "author": "No Time", "body": "words here"}).encode(),
    json.dumps(
        {"article_id": str(uuid.uuid4()), "author": "Bad Time", "body": "words", "published_at": "next tuesday"}
    ).encode(),
]


def post(url: str, payload: Any) -> int:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {API_TOKEN}"}
    request = Request(url, data=json.dumps(payload).encode(), headers=headers)
    with urlopen(request, timeout=10) as response:
        return response.status


def expected_windows(articles: list[Article]) -> dict[tuple[datetime, str], tuple[float, int]]:
    """(window_start, author) -> (average word count, count) for windows the watermark has closed."""
    watermark = max(a.published_at for a in articles) - WATERMARK_DELAY
    sums: dict[tuple[datetime, str], list[int]] = defaultdict(list)
    for article in articles:
        minute = article.published_at.replace(second=0, microsecond=0)
        for back in range(5):  # 5-minute windows sliding every minute: 5 windows hold each article
            start = minute - timedelta(minutes=back)
            sums[(start, article.author)].append(article.word_count)
    return {
        key: (sum(counts) / len(counts), len(counts))
        for key, counts in sums.items()
        if key[0] + timedelta(minutes=5) <= watermark
    }


Sample = tuple[str, dict[str, str], float]


def counted(bind: str, records: int) -> list[Sample] | None:
    """The job's metrics once they count ``records`` read over all shards, else None."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urlopen(f"http://{bind}/metrics", timeout=5).read().decode()
    samples = [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]
    read = sum(value for name, _, value in samples if name == "article_pipeline_kinesis_records_read_total")
    return samples if read >= records else None


def sample(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of ``article_pipeline_<name>`` over the samples whose labels include ``labels``."""
    return sum(
        value
        for found, found_labels, value in samples
        if found == f"article_pipeline_{name}" and labels.items() <= found_labels.items()
    )


@pytest.fixture
def pipeline_env(moto_endpoint: str, names: dict, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "KINESIS_SHARD_COUNT": "2",
        "PUBLISH_RATE": "50",
        "PUBLISH_COUNT": "40",
        "PUBLISHER_SEED": "11",
        "PUBLISHER_API_TOKEN": API_TOKEN,
        "PUBLISHER_BIND": f"127.0.0.1:{free_port()}",
        "JOB_METRICS_BIND": f"127.0.0.1:{free_port()}",
        "CHECKPOINT_LOCATION": str(tmp_path / "checkpoints"),
        "SPARK_MASTER_URL": "local[2]",
        "TRIGGER_INTERVAL": "1 second",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "SHUFFLE_PARTITIONS": "2",
        "PYTHONPATH": str(REPO),
    }


def test_published_articles_land_once_with_correct_windows(
    pipeline_env: dict[str, str], aws: AwsSettings, kinesis: Any, names: dict, tmp_path: Path
) -> None:
    base = f"http://{pipeline_env['PUBLISHER_BIND']}"
    publisher = subprocess.Popen(
        [sys.executable, "-m", "publisher"],
        env=pipeline_env,
        cwd=REPO,
        stdout=open(tmp_path / "publisher.log", "wb"),  # noqa: SIM115 - the child process owns the file
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_http(f"{base}/health", 60)
        assert json.load(urlopen(f"{base}/health"))["stream_reachable"] is True
        wait_until(lambda: json.load(urlopen(f"{base}/health"))["done"], 60, "the publisher's 40 articles")
        generator = ArticleGenerator(seed=99, authors=3)
        start = datetime.now(timezone.utc) - timedelta(minutes=30)
        spread = [generator.article(start + timedelta(seconds=20 * i)) for i in range(45)]
        assert post(f"{base}/articles", spread) == 202
        assert post(f"{base}/articles", spread[7]) == 202, "a republished article"
    finally:
        publisher.send_signal(signal.SIGTERM)
        assert publisher.wait(20) == 0
    kinesis.put_records(
        StreamName=names["stream"],
        Records=[{"Data": data, "PartitionKey": f"bad-{i}"} for i, data in enumerate(MALFORMED)],
    )
    published = list(stream_records(aws, names["stream"]))
    articles = {}
    for record in published:
        outcome = parse_record(record["Data"], record["ApproximateArrivalTimestamp"])
        if isinstance(outcome, Article):
            articles[outcome.article_id] = outcome
    assert len(published) == 40 + 45 + 1 + len(MALFORMED) and len(articles) == 85

    job = subprocess.Popen(
        [sys.executable, str(REPO / "jobs" / "process_articles.py")],
        env=pipeline_env,
        cwd=REPO,
        stdout=open(tmp_path / "job.log", "wb"),  # noqa: SIM115 - the child process owns the file
        stderr=subprocess.STDOUT,
    )
    try:
        wanted = expected_windows(list(articles.values()))
        assert len(wanted) > 20

        def caught_up() -> bool:
            if job.poll() is not None:
                raise AssertionError(f"job exited {job.returncode}: {(tmp_path / 'job.log').read_text()[-3000:]}")
            enriched = read_output(aws, names["bucket"], "enriched_articles")
            stats = read_output(aws, names["bucket"], "author_stats")
            return enriched.num_rows >= 85 and stats.num_rows >= len(wanted)

        wait_until(caught_up, 600, "enriched articles and closed windows in S3", interval=1.0)
        metrics = wait_until(
            lambda: counted(pipeline_env["JOB_METRICS_BIND"], len(published)), 60, "every record read in /metrics"
        )
    finally:
        job.send_signal(signal.SIGTERM)
        job.wait(120)
    assert job.returncode == 0, (tmp_path / "job.log").read_text()[-3000:]

    enriched = read_output(aws, names["bucket"], "enriched_articles").to_pylist()
    ids = [row["article_id"] for row in enriched]
    assert sorted(ids) == sorted(articles), "every valid article exactly once, the republished one included once"
    for row in enriched:
        article = articles[row["article_id"]]
        assert (row["author"], row["word_count"]) == (article.author, article.word_count)
        assert row["published_at"] == article.published_at
        assert row["date"] == article.published_at.strftime("%Y-%m-%d")
        assert row["shard_id"].startswith("shardId-") and row["sequence_number"].isdigit()

    quarantine = read_output(aws, names["bucket"], "quarantine").to_pylist()
    assert len(quarantine) == len(MALFORMED)
    reasons = {row["error_reason"] for row in quarantine}
    assert reasons == {"invalid_json", "invalid_utf8", "not_an_object", "missing_field", "unparseable_timestamp"}
    raw = {
        base64.b64decode(r["raw_payload"]) if r["payload_encoding"] == "base64" else r["raw_payload"].encode()
        for r in quarantine
    }
    assert raw == set(MALFORMED), "quarantine keeps each payload losslessly"

    stats = read_output(aws, names["bucket"], "author_stats").to_pylist()
    got = {(row["window_start"], row["author"]): (row["avg_word_count"], row["article_count"]) for row in stats}
    assert len(got) == len(stats), "each (window, author) appears once"
    for key, (average, count) in wanted.items():
        assert key in got, f"missing window {key}"
        assert got[key][1] == count and got[key][0] == pytest.approx(average)
    assert all(row["window_end"] - row["window_start"] == timedelta(minutes=5) for row in stats)

    # The job's /metrics tells the same story as the tables.
    shards = {labels["shard"] for name, labels, _ in metrics if name.endswith("kinesis_millis_behind_latest")}
    assert len(shards) == 2, f"lag of each shard: {shards}"
    assert sample(metrics, "table_rows_appended_total", table="enriched_articles") == 85
    assert sample(metrics, "table_rows_appended_total", table="quarantine") == len(MALFORMED)
    assert {labels["reason"] for name, labels, _ in metrics if name.endswith("quarantined_rows_total")} == reasons
    assert sample(metrics, "duplicates_dropped_total") == 1
    assert sample(metrics, "last_batch_completed_timestamp_seconds", query="author_stats") > 0

    result = reconcile(job_settings(aws, names["stream"], names["bucket"]))
    print(f"e2e reconcile: {result}")  # quoted in the closing note (pytest -s)
    assert result.balanced and result.duplicates == 0 and result.republished_dropped == 1
