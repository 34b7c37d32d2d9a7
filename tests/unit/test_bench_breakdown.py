"""Where a batch's time goes: the bench's per-batch components and their p50/p90 per phase (pure functions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import parse_variant
from bench.job_log import batch_components, job_batches, phase_breakdown
from bench.latency import job_environment
from bench.latency_rows import breakdown_table, largest_component
from bench.stats import p50_p90

pytestmark = pytest.mark.unit

DURATIONS = {
    "latestOffset": 40,
    "getBatch": 0,
    "queryPlanning": 10,
    "walCommit": 30,
    "addBatch": 2000,
    "commitOffsets": 20,
    "triggerExecution": 2150,
}


def articles_batch(**overrides: Any) -> dict[str, Any]:
    batch = {
        "query": "articles",
        "batch": 3,
        "phase": "rate_100",
        "durations_ms": DURATIONS,
        "read_ms": 500.0,
        "dedup_ms": 100.0,
        "table_write_ms": {"enriched_articles": 1200.0},
    }
    return {**batch, **overrides}


def test_components_split_spark_phases_and_the_writer_steps() -> None:
    parts = batch_components(articles_batch())
    assert parts["latestOffset"] == 40
    assert parts["triggerExecution"] == 2150
    assert parts["unaccounted"] == 2150 - (40 + 0 + 10 + 30 + 2000 + 20)
    assert parts["addBatch.read"] == 500
    assert parts["addBatch.dedup"] == 100
    assert parts["addBatch.enriched_articles"] == 1200
    assert parts["addBatch.quarantine"] == 0  # no rejected rows: no commit, 0 ms
    assert parts["addBatch.rest"] == 2000 - (500 + 100 + 1200)


def test_components_without_a_writer_line_or_for_author_stats_are_spark_phases_only() -> None:
    assert not any(name.startswith("addBatch.") for name in batch_components(articles_batch(read_ms=None)))
    stats = batch_components({"query": "author_stats", "durations_ms": {"addBatch": 700, "triggerExecution": 900}})
    assert stats == {"addBatch": 700, "unaccounted": 200, "triggerExecution": 900}
    assert batch_components({"query": "articles", "durations_ms": {}}) == {}


def test_phase_breakdown_takes_one_query_of_one_phase() -> None:
    batches = [articles_batch(table_write_ms={"enriched_articles": float(ms)}) for ms in (1000, 1100, 1200, 1300, 5000)]
    batches.append(articles_batch(phase="rate_1000", table_write_ms={"enriched_articles": 9999.0}))
    batches.append({"query": "author_stats", "phase": "rate_100", "durations_ms": {"addBatch": 1}})
    breakdown = phase_breakdown(batches, "rate_100", "articles")
    assert breakdown["addBatch.enriched_articles"] == {"p50": 1200.0, "p90": 3520.0, "n": 5}
    assert breakdown["walCommit"]["n"] == 5
    assert phase_breakdown(batches, "rate_max", "articles") == {}


def test_p50_p90() -> None:
    assert p50_p90([]) == {"p50": None, "p90": None, "n": 0}
    assert p50_p90([5.0]) == {"p50": 5.0, "p90": 5.0, "n": 1}
    assert p50_p90([float(v) for v in range(1, 11)]) == {"p50": 5.5, "p90": 9.1, "n": 10}


def test_job_batches_joins_the_writer_line_to_the_batch(tmp_path: Path) -> None:
    lines = [
        {"event": "articles_batch_written", "batch": 3, "read_ms": 500.0, "dedup_ms": 100.0, "write_ms": {"q": 1.0}},
        {
            "event": "batch_completed",
            "ts": "2026-12-06T23:00:01+00:00",
            "query": "articles",
            "batch": 3,
            "input_rows": 10,
            "duration_ms": 2150,
            "sink_ms": 2000,
            "durations_ms": DURATIONS,
            "shards": {},
        },
        {
            "event": "batch_completed",
            "ts": "2026-12-06T23:00:02+00:00",
            "query": "author_stats",
            "batch": 3,
            "input_rows": 0,
            "duration_ms": 900,
            "sink_ms": 700,
        },
    ]
    log = tmp_path / "job.log"
    log.write_text("noise\n" + "\n".join(json.dumps(line) for line in lines) + "\n")
    articles, stats = job_batches(str(log), [(0.0, "rate_100")])
    assert (articles["read_ms"], articles["dedup_ms"], articles["table_write_ms"]) == (500.0, 100.0, {"q": 1.0})
    assert articles["durations_ms"] == DURATIONS and articles["phase"] == "rate_100"
    assert stats["read_ms"] is None and stats["table_write_ms"] == {} and stats["durations_ms"] == {}


def test_largest_component_skips_the_sums() -> None:
    breakdown = phase_breakdown([articles_batch()], "rate_100", "articles")
    assert largest_component(breakdown) == "addBatch.enriched_articles"
    spark_only = phase_breakdown([articles_batch(read_ms=None)], "rate_100", "articles")
    assert largest_component(spark_only) == "addBatch"
    assert largest_component({}) is None


def test_breakdown_table_has_a_column_per_rate() -> None:
    breakdown = phase_breakdown([articles_batch()], "rate_100", "articles")
    table = breakdown_table([{"rate": "100", "breakdown": {"articles": breakdown}}], "articles")
    assert "| articles: ms, p50 / p90" in table and "100/s" in table
    assert "enriched_articles append (Parquet + commit) | 1,200 / 1,200" in table
    assert "largest part (p50)" in table.splitlines()[-1] and "enriched_articles append" in table.splitlines()[-1]


def test_variant_settings_go_to_the_jvm_or_the_environment() -> None:
    assert parse_variant("base") == ("base", {})
    name, settings = parse_variant("rocks:spark.a.b=X, SHUFFLE_PARTITIONS=2")
    assert (name, settings) == ("rocks", {"spark.a.b": "X", "SHUFFLE_PARTITIONS": "2"})
    assert parse_variant("perf:spark.f=create,mkdir,X=1") == ("perf", {"spark.f": "create,mkdir", "X": "1"})
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_variant("bad:spark.a")
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_variant("bad:=1")
    env = job_environment(settings)
    assert env == {"SHUFFLE_PARTITIONS": "2", "PYSPARK_SUBMIT_ARGS": "--conf spark.a.b=X pyspark-shell"}
    assert job_environment({}) == {}


def test_checkpoint_conf_reads_the_first_offset_entry(tmp_path: Path) -> None:
    from bench.latency import checkpoint_conf

    assert checkpoint_conf(tmp_path) == {}
    (tmp_path / "offsets").mkdir()
    conf = {"spark.sql.shuffle.partitions": "2"}
    (tmp_path / "offsets" / "0").write_text("v1\n" + json.dumps({"batchWatermarkMs": 0, "conf": conf}) + "\n{}\n")
    assert checkpoint_conf(tmp_path) == conf
