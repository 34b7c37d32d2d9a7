"""The job's Prometheus metrics (jobs/job_metrics.py): what each completed batch, write and outage adds."""

from typing import Any
from urllib.request import urlopen

import pytest

from common.env import SettingError
from jobs.job_metrics import JobMetrics
from ops.processes import free_port

pytestmark = pytest.mark.unit


def value(metrics: JobMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(f"article_pipeline_{name}", labels)


def progress(batch: int, rows: int, duration_ms: int, state_rows: int = 0) -> dict[str, Any]:
    return {
        "batchId": batch,
        "numInputRows": rows,
        "durationMs": {"triggerExecution": duration_ms},
        "stateOperators": [{"numRowsTotal": state_rows, "memoryUsedBytes": 4096}] if state_rows else [],
    }


def test_batches_add_up_per_query_and_shard() -> None:
    metrics = JobMetrics(clock=lambda: 1_000.0)
    shards = {
        "shardId-0": {
            "records": 7,
            "bytes": 700,
            "millis_behind_latest": 250,
            "get_records_calls": 1,
            "retries": 2,
            "renewals": 0,
        },
        "shardId-1": {"records": 3, "millis_behind_latest": None, "get_records_calls": 1, "retries": 0, "renewals": 1},
    }
    metrics.batch_completed("articles", progress(0, 10, 1_500), shards, dropped=0)
    metrics.batch_completed("articles", progress(1, 4, 900), {"shardId-0": {**shards["shardId-0"], "records": 4}}, 0)
    metrics.batch_completed("author_stats", progress(0, 14, 3_000, state_rows=12), {}, dropped=2)
    assert value(metrics, "kinesis_records_read_total", query="articles", shard="shardId-0") == 11
    assert value(metrics, "kinesis_records_read_total", query="articles", shard="shardId-1") == 3
    assert value(metrics, "kinesis_read_bytes_total", query="articles", shard="shardId-0") == 1400
    assert value(metrics, "kinesis_read_bytes_total", query="articles", shard="shardId-1") == 0, "no bytes: old log"
    assert value(metrics, "kinesis_millis_behind_latest", query="articles", shard="shardId-0") == 250
    assert value(metrics, "kinesis_millis_behind_latest", query="articles", shard="shardId-1") is None
    assert value(metrics, "kinesis_read_retries_total", query="articles", shard="shardId-0") == 4
    assert value(metrics, "kinesis_iterator_renewals_total", query="articles", shard="shardId-1") == 1
    assert value(metrics, "batches_total", query="articles") == 2
    assert value(metrics, "input_rows_total", query="articles") == 14
    assert value(metrics, "batch_duration_seconds", query="articles") == 0.9
    assert value(metrics, "last_batch_completed_timestamp_seconds", query="author_stats") == 1_000.0
    assert value(metrics, "watermark_dropped_rows_total", query="author_stats") == 2
    assert value(metrics, "state_rows", query="author_stats") == 12


def test_writes_count_rows_per_table_and_quarantine_per_reason() -> None:
    metrics = JobMetrics()
    metrics.articles_written(
        {"enriched_articles": 5, "quarantine": 2}, {"enriched_articles": 1_600.0}, {"invalid_json": 2}, 1
    )
    metrics.articles_written({"enriched_articles": 3, "quarantine": 0}, {"enriched_articles": 800.0}, {}, 0)
    assert value(metrics, "table_rows_appended_total", table="enriched_articles") == 8
    assert value(metrics, "table_append_duration_seconds", table="enriched_articles") == 0.8
    assert value(metrics, "quarantined_rows_total", reason="invalid_json") == 2
    assert value(metrics, "duplicates_dropped_total") == 1


def test_an_outage_shows_its_endpoint_and_the_deadline_left_until_it_ends() -> None:
    now = [100.0]
    metrics = JobMetrics(clock=lambda: now[0])
    metrics.outage_began("S3 at http://127.0.0.1:4566", started_at=100.0, deadline_at=400.0)
    now[0] = 160.0
    assert value(metrics, "outage") == 1 and value(metrics, "outage_deadline_remaining_seconds") == 240
    assert value(metrics, "outage_endpoint", endpoint="S3 at http://127.0.0.1:4566") == 1
    metrics.outage_ended()
    assert value(metrics, "outage") == 0 and value(metrics, "outage_deadline_remaining_seconds") == 0
    assert value(metrics, "outage_endpoint", endpoint="S3 at http://127.0.0.1:4566") is None


def test_served_over_http_and_a_taken_port_names_the_setting() -> None:
    metrics = JobMetrics()
    metrics.articles_written({"enriched_articles": 1}, {}, {}, 0)
    bind = f"127.0.0.1:{free_port()}"
    server = metrics.serve(bind)
    try:
        text = urlopen(f"http://{bind}/metrics", timeout=5).read().decode()
        assert 'article_pipeline_table_rows_appended_total{table="enriched_articles"} 1.0' in text
        with pytest.raises(SettingError, match="JOB_METRICS_BIND"):
            JobMetrics().serve(bind)
    finally:
        server.shutdown()
