"""One fast producer clock must not blank ``author_stats``, and what a watermark drops is counted.

Phase 1 of on-time articles, then one valid article dated 23 h ahead, then phase 2 of on-time
articles plus one article published long before the windows' watermark. The windows must equal a
recomputation of the on-time articles alone; the future article is in quarantine with its own
reason (not lost); the late one is dropped by the watermark and counted: in the job's batch line,
in ``make status`` and by ``make reconcile``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pipeline_testing import REPO, create_stream, job_settings, wait_until

from common.contract import Article, parse_record
from common.settings import AwsSettings
from ops.outputs import read_output
from ops.reconcile import reconcile
from publisher.articles import ArticleGenerator

pytestmark = pytest.mark.e2e
DELAY = timedelta(minutes=2)  # WATERMARK_DELAY's default


def final_windows(articles: list[Article], watermark: datetime) -> dict[tuple[datetime, str], tuple[float, int]]:
    """(window_start, author) -> (average word count, count) of 5-minute windows sliding 1 minute, ended by ``watermark``."""
    counts: dict[tuple[datetime, str], list[int]] = defaultdict(list)
    for article in articles:
        minute = article.published_at.replace(second=0, microsecond=0)
        for back in range(5):
            counts[(minute - timedelta(minutes=back), article.author)].append(article.word_count)
    return {
        key: (sum(words) / len(words), len(words))
        for key, words in counts.items()
        if key[0] + timedelta(minutes=5) <= watermark
    }


def put(kinesis: Any, stream: str, documents: list[dict[str, Any]]) -> None:
    records = [{"Data": json.dumps(d).encode(), "PartitionKey": d["article_id"]} for d in documents]
    assert kinesis.put_records(StreamName=stream, Records=records)["FailedRecordCount"] == 0


def test_a_far_future_article_cannot_close_the_windows_of_others(
    moto_endpoint: str, aws: AwsSettings, kinesis: Any, s3: Any, names: dict[str, str], tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 1)
    s3.create_bucket(Bucket=names["bucket"])
    generator = ArticleGenerator(seed=21, authors=3)
    base = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=40)
    phase1 = [generator.article(base + timedelta(seconds=20 * n)) for n in range(45)]
    future = generator.article(datetime.now(timezone.utc) + timedelta(hours=23))
    phase2 = [generator.article(base + timedelta(minutes=16, seconds=20 * n)) for n in range(45)]
    late = generator.article(base + timedelta(seconds=30))  # its windows closed in phase 1
    checkpoints = tmp_path / "checkpoints"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "CHECKPOINT_LOCATION": str(checkpoints),
        "SPARK_MASTER_URL": "local[2]",
        "TRIGGER_INTERVAL": "1 second",
        "SHUFFLE_PARTITIONS": "2",
        "PYTHONPATH": str(REPO),
    }
    log = tmp_path / "job.log"
    job = subprocess.Popen(
        [sys.executable, str(REPO / "jobs" / "process_articles.py")],
        env=env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )

    def rows(table: str) -> int:
        if job.poll() is not None:
            raise AssertionError(f"job exited {job.returncode}: {log.read_text()[-3000:]}")
        return int(read_output(aws, names["bucket"], table).num_rows)

    try:
        put(kinesis, names["stream"], [*phase1, future])
        wait_until(lambda: rows("author_stats") > 0, 600, "the first closed windows of phase 1")
        put(kinesis, names["stream"], phase2)
        wait_until(lambda: rows("enriched_articles") >= 90, 300, "phase 2 in enriched_articles")
        put(kinesis, names["stream"], [late])
        now = datetime.now(timezone.utc)
        on_time = [
            a for a in (parse_record(json.dumps(d).encode(), now) for d in phase1 + phase2) if isinstance(a, Article)
        ]
        assert len(on_time) == 90
        wanted = final_windows(on_time, max(a.published_at for a in on_time) - DELAY)
        wait_until(lambda: rows("author_stats") >= len(wanted), 300, f"{len(wanted)} windows of the on-time articles")
        wait_until(lambda: '"dropped_by_watermark": 1' in log.read_text(), 120, "the late article counted as dropped")
    finally:
        job.send_signal(signal.SIGTERM)
        job.wait(120)

    stats = read_output(aws, names["bucket"], "author_stats").to_pylist()
    got = {(r["window_start"], r["author"]): (r["avg_word_count"], r["article_count"]) for r in stats}
    assert set(got) == set(wanted)
    for key, (average, count) in wanted.items():
        assert got[key][1] == count and got[key][0] == pytest.approx(average), key
    quarantine = read_output(aws, names["bucket"], "quarantine").to_pylist()
    assert [(r["error_reason"], json.loads(r["raw_payload"])["article_id"]) for r in quarantine] == [
        ("event_time_ahead", future["article_id"])
    ]

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    completed = [line for line in lines if line.get("event") == "batch_completed" and line["query"] == "author_stats"]
    assert sum(line["dropped_by_watermark"] for line in completed) == 1
    assert completed[-1]["dropped_by_watermark_total"] == 1
    status = subprocess.run(
        [sys.executable, "-m", "ops.status"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert "dropped by watermark" in status.stdout
    stats_row = next(line for line in status.stdout.splitlines() if line.startswith("author_stats"))
    assert stats_row.split()[5] == "1", status.stdout
    result = reconcile(job_settings(aws, names["stream"], names["bucket"]))
    assert result.balanced and result.quarantined == 1 and result.outside_every_window == 1, result
