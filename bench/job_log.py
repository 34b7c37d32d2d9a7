"""What the job's log says per micro-batch (``batch_completed``, ``articles_batch_written``), and per phase.

Where a batch's time goes (``batch_components``, ``phase_breakdown``): Spark's phases of the
micro-batch (``StreamingQueryProgress.durationMs``) and, inside ``addBatch`` of the ``articles``
query, the ``foreachBatch``'s own steps (first pass: Kinesis read + parse + cache; dedup; each
table's append = its Parquet files + Delta commit).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.stats import p50_p90, upper_median
from common.contract import ENRICHED_ARTICLES, QUARANTINE

# Spark's phases of a micro-batch (``durationMs``) in the order they run; ``triggerExecution`` spans them all.
SPARK_PHASES = ("latestOffset", "getBatch", "queryPlanning", "walCommit", "addBatch", "commitOffsets")
# The ``articles`` query's addBatch (its foreachBatch), step by step (``articles_batch_written``).
WRITER_STEPS = ("read", "dedup", ENRICHED_ARTICLES, QUARANTINE)


def job_batches(log_path: str, marks: list[tuple[float, str]]) -> list[dict[str, Any]]:
    """The job's ``batch_completed`` events (query, batch, rows, duration), tagged with the phase."""
    batches = []
    try:
        lines = Path(log_path).read_text(errors="replace").splitlines()
    except OSError:
        return []
    written: dict[int, dict[str, Any]] = {}
    for line in lines:
        if not line.startswith("{") or "batch_" not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "articles_batch_written":
            written[event["batch"]] = event
            continue
        if event.get("event") != "batch_completed":
            continue
        when = datetime.fromisoformat(event["ts"]).timestamp()
        phase = "startup"
        for mark, name in marks:
            if when >= mark:
                phase = name
        writer = written.get(event["batch"], {}) if event["query"] == "articles" else {}
        batches.append(
            {
                "query": event["query"],
                "batch": event["batch"],
                "rows": event["input_rows"],
                "duration_ms": event["duration_ms"],
                "sink_ms": event.get("sink_ms"),
                "durations_ms": event.get("durations_ms") or {},
                "table_write_ms": writer.get("write_ms") or {},
                "read_ms": writer.get("read_ms"),
                "dedup_ms": writer.get("dedup_ms"),
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
        "breakdown": {query: phase_breakdown(batches, phase, query) for query in ("articles", "author_stats")},
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


def batch_components(batch: dict[str, Any]) -> dict[str, float]:
    """One batch's milliseconds by component: Spark's phases, what they leave out, the writer's steps.

    Keys: each of ``SPARK_PHASES`` the report has, ``triggerExecution`` (the whole batch),
    ``unaccounted`` (triggerExecution minus the phases) and, for an ``articles`` batch whose
    ``articles_batch_written`` line is there, ``addBatch.<step>`` per ``WRITER_STEPS`` (0 for a
    table the batch did not append to) and ``addBatch.rest`` (persist, upkeep, Spark's own share).
    """
    durations = batch.get("durations_ms") or {}
    parts = {name: float(durations[name]) for name in SPARK_PHASES if name in durations}
    if "triggerExecution" in durations:
        parts["unaccounted"] = float(durations["triggerExecution"]) - sum(parts.values())
        parts["triggerExecution"] = float(durations["triggerExecution"])
    if batch["query"] == "articles" and "addBatch" in parts and batch.get("read_ms") is not None:
        tables = batch.get("table_write_ms") or {}
        steps = {"read": batch["read_ms"], "dedup": batch.get("dedup_ms") or 0.0}
        steps.update({table: tables.get(table, 0.0) for table in (ENRICHED_ARTICLES, QUARANTINE)})
        parts.update({f"addBatch.{step}": float(ms) for step, ms in steps.items()})
        parts["addBatch.rest"] = parts["addBatch"] - sum(steps.values())
    return parts


def phase_breakdown(batches: list[dict[str, Any]], phase: str, query: str) -> dict[str, dict[str, Any]]:
    """p50, p90 and count per component (``batch_components``) over one query's batches of one phase."""
    values: dict[str, list[float]] = {}
    for batch in batches:
        if batch.get("phase") == phase and batch["query"] == query:
            for name, ms in batch_components(batch).items():
                values.setdefault(name, []).append(ms)
    return {name: p50_p90(ms) for name, ms in values.items()}
