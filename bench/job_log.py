"""What the job's log says per micro-batch (``batch_completed``, ``articles_batch_written``), and per phase."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.stats import upper_median
from common.contract import ENRICHED_ARTICLES


def job_batches(log_path: str, marks: list[tuple[float, str]]) -> list[dict[str, Any]]:
    """The job's ``batch_completed`` events (query, batch, rows, duration), tagged with the phase."""
    batches = []
    try:
        lines = Path(log_path).read_text(errors="replace").splitlines()
    except OSError:
        return []
    write_ms: dict[int, dict[str, float]] = {}
    for line in lines:
        if not line.startswith("{") or "batch_" not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "articles_batch_written":
            write_ms[event["batch"]] = event.get("write_ms") or {}
            continue
        if event.get("event") != "batch_completed":
            continue
        when = datetime.fromisoformat(event["ts"]).timestamp()
        phase = "startup"
        for mark, name in marks:
            if when >= mark:
                phase = name
        batches.append(
            {
                "query": event["query"],
                "batch": event["batch"],
                "rows": event["input_rows"],
                "duration_ms": event["duration_ms"],
                "sink_ms": event.get("sink_ms"),
                "table_write_ms": write_ms.get(event["batch"], {}) if event["query"] == "articles" else {},
                "shards_read": len(event.get("shards") or {}),
                "get_records_calls": sum(
                    (shard.get("get_records_calls") or 0) for shard in (event.get("shards") or {}).values()
                ),
                "ts": event["ts"],
                "phase": phase,
            }
        )
    return batches


def phase_batch_figures(batches: list[dict[str, Any]], phase: str) -> dict[str, Any]:
    """One phase's batches: their count and median time, GetRecords calls per shard per trigger, Delta write times."""
    durations = [
        b["duration_ms"]
        for b in batches
        if b.get("phase") == phase and b["query"] == "articles" and b.get("duration_ms")
    ]
    kinesis_batches = [b for b in batches if b.get("phase") == phase and b["shards_read"]]
    shard_batches = sum(b["shards_read"] for b in kinesis_batches)
    articles = [b for b in batches if b.get("phase") == phase and b["query"] == "articles"]
    return {
        "articles_batches": len(durations),
        # The job's only Kinesis reader is the articles query: GetRecords per shard per trigger.
        "get_records_per_shard_per_trigger": (
            sum(b["get_records_calls"] for b in kinesis_batches) / shard_batches if shard_batches else None
        ),
        "articles_batch_ms_median": upper_median(durations),
        # Delta: each table append (compute of its rows + the commit) and the whole foreachBatch (Spark's addBatch).
        "enriched_write_ms_median": upper_median(
            [b["table_write_ms"][ENRICHED_ARTICLES] for b in articles if ENRICHED_ARTICLES in b["table_write_ms"]]
        ),
        "articles_sink_ms_median": upper_median([b["sink_ms"] for b in articles if b.get("sink_ms")]),
        "author_stats_sink_ms_median": upper_median(
            [
                b["sink_ms"]
                for b in batches
                if b.get("phase") == phase and b["query"] == "author_stats" and b.get("sink_ms")
            ]
        ),
    }
