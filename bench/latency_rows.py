"""Rows of the results table for figures 3 and 6, from the latency run (``latency``, ``memory``)."""

from __future__ import annotations

from typing import Any

from bench.row_cells import met_cell, row, setup_cell


def latency_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Figure 3, per publish rate: latency percentiles, Delta write times, GetRecords calls per trigger."""
    table: list[list[str]] = []
    r = doc["result"]
    for phase in r["phases"]:
        target = phase["rate"] == "1000"
        met = (met_cell(phase["p50"], 2.0, False) + " / " + met_cell(phase["p99"], 5.0, False)) if target else ""
        if phase["missing"]:
            met = f"**no** ({phase['missing']} not visible)"
        table.append(
            row(
                f"3. End-to-end latency at {phase['rate']}/s (achieved {phase['achieved_rate']:,.0f}/s)",
                f"p50 {phase['p50']:.2f} s, p95 {phase['p95']:.2f} s, p99 {phase['p99']:.2f} s",
                f"{phase['articles']:,} articles",
                setup_cell(doc, {**r, "runs": None}) + f", trigger {r['trigger']!r} (author_stats "
                f"{r.get('author_stats_trigger', r['trigger'])!r}), 1 run of "
                f"{phase['seconds']:g} s, poll {r['poll_seconds']:g} s",
                target="p50 <= 2 s, p99 <= 5 s" if target else "",
                met=met,
            )
        )
        if phase.get("enriched_write_ms_median") is not None:
            table.append(
                row(
                    f"3. Delta writes at {phase['rate']}/s (median per batch)",
                    f"enriched append {phase['enriched_write_ms_median']:,.0f} ms (rows + commit)",
                    f"foreachBatch {phase['articles_sink_ms_median'] or 0:,.0f} ms; "
                    f"author_stats sink {phase['author_stats_sink_ms_median'] or 0:,.0f} ms",
                    "from the job log (articles_batch_written, Spark's durationMs.addBatch)",
                )
            )
        if phase.get("get_records_per_shard_per_trigger") is not None:
            table.append(
                row(
                    f"3. Kinesis read budget at {phase['rate']}/s: GetRecords calls per shard per trigger",
                    f"{phase['get_records_per_shard_per_trigger']:.2f}",
                    "2.0 before (two queries read the stream)",
                    "from the position log's per-shard call counts",
                    target="1 read per trigger",
                    met=met_cell(phase["get_records_per_shard_per_trigger"], 1.5, False),
                )
            )
    return table


def memory_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Figure 6: JVM, Python workers and Python driver memory of the job."""
    r = doc["result"]
    steady = r["steady_state_max_rss_by_phase"]
    phases = [name for name in steady if name != "startup"]
    steady_phase = "rate_1000" if "rate_1000" in steady else (phases[0] if phases else None)
    at = steady.get(steady_phase, {}) if steady_phase else {}
    cores = doc["machine"]["cores"]
    during_latency_run = f"{cores} cores, job process during the latency run"
    return [
        row(
            "6. Memory: JVM (driver + executor, local[2])",
            f"peak RSS {r['jvm_peak_rss_mb']:,.0f} MB",
            f"steady ({steady_phase}) {at.get('jvm_rss_mb', 0):,.0f} MB",
            during_latency_run,
        ),
        row(
            "6. Memory: Python workers (all Spark-started Python processes)",
            f"{r['python_workers']} processes, largest peak RSS {r['python_workers_peak_rss_mb_max_single']:,.0f} MB",
            f"steady ({steady_phase}) {at.get('python_worker_pss_mb', at.get('python_worker_rss_mb', 0)):,.0f}"
            f" MB PSS total",
            during_latency_run,
        ),
        row(
            "6. Memory: Python driver",
            f"peak RSS {r['python_driver_peak_rss_mb']:,.0f} MB",
            f"steady ({steady_phase}) {at.get('python_driver_rss_mb', 0):,.0f} MB",
            f"{cores} cores",
        ),
    ]
