"""Rows of the results table for figures 3 and 6, from the latency run (``latency``, ``memory``), and the
per-batch breakdown tables (``breakdown_lines``, ``variant_lines``)."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from bench.row_cells import met_cell, row, setup_cell

# What each component of ``bench.job_log.batch_components`` is, in the order a batch runs them.
COMPONENTS = {
    "latestOffset": "latestOffset (source: shards, position log)",
    "getBatch": "getBatch",
    "queryPlanning": "queryPlanning",
    "walCommit": "walCommit (offset log)",
    "addBatch": "addBatch (the sink)",
    "addBatch.read": "- first pass: Kinesis read, parse, cache",
    "addBatch.dedup": "- dedup (cache, table lookup)",
    "addBatch.enriched_articles": "- enriched_articles append (Parquet + commit)",
    "addBatch.quarantine": "- quarantine append",
    "addBatch.rest": "- rest (persist, upkeep, Spark)",
    "commitOffsets": "commitOffsets (commit log)",
    "unaccounted": "other (triggerExecution - phases)",
    "triggerExecution": "whole batch (triggerExecution)",
}
# Components that are not a sum of others: the largest of these is where a batch's time goes.
_PARENTS = ("triggerExecution",)


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
    figures = r.get("author_stats_latency")
    if figures and r.get("author_stats_windows"):
        table.append(
            row(
                "3. author_stats: window final (watermark past its end) -> row visible",
                f"p50 {figures['p50']:.2f} s, p95 {figures['p95']:.2f} s, max {figures['max']:.2f} s",
                f"{len(r['author_stats_windows'])} rows of {r['author_stats_windows_closed']} windows closed"
                + (
                    f", {len(r['author_stats_windows_without_row'])} without a row"
                    if r["author_stats_windows_without_row"]
                    else ""
                ),
                f"WATERMARK_DELAY {r['watermark_delay']}, author_stats trigger "
                f"{r.get('author_stats_trigger', r['trigger'])!r}, poll {r['poll_seconds']:g} s",
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


def _cell(figures: dict[str, Any] | None) -> str:
    if not figures or figures.get("p50") is None:
        return ""
    return f"{figures['p50']:,.0f} / {figures['p90']:,.0f}"


def largest_component(breakdown: dict[str, dict[str, Any]]) -> str | None:
    """The component with the largest p50 that is not a sum of others (addBatch counts when it has no steps)."""
    leaves = {
        name: figures["p50"]
        for name, figures in breakdown.items()
        if figures.get("p50") is not None
        and name not in _PARENTS
        and not (name == "addBatch" and any(n.startswith("addBatch.") for n in breakdown))
    }
    return max(leaves, key=lambda name: leaves[name]) if leaves else None


def breakdown_table(phases: list[dict[str, Any]], query: str, label: str = "rate") -> str:
    """Markdown: one row per component, one column per phase (p50 / p90 ms), the largest part last."""
    columns = [
        (str(phase.get(label, phase.get("rate"))), phase.get("breakdown", {}).get(query, {})) for phase in phases
    ]
    present = [name for name in COMPONENTS if any(name in breakdown for _, breakdown in columns)]
    table = [[COMPONENTS[name], *(_cell(breakdown.get(name)) for _, breakdown in columns)] for name in present]
    table.append(["batches", *(str(breakdown.get("triggerExecution", {}).get("n", 0)) for _, breakdown in columns)])
    table.append(
        ["largest part (p50)", *(COMPONENTS.get(largest_component(b) or "", "").lstrip("- ") for _, b in columns)]
    )
    headers = [f"{query}: ms, p50 / p90", *(f"{name}/s" if label == "rate" else name for name, _ in columns)]
    return tabulate(table, headers=headers, tablefmt="github")


def breakdown_lines(doc: dict[str, Any]) -> list[str]:
    """The results.md section: where each query's batch time goes, per publish rate, with the run's load."""
    phases = [phase for phase in doc["result"]["phases"] if phase.get("breakdown")]
    if not phases:
        return []
    load = doc["machine"]["load_avg_at_start"][0]
    return [
        "## Where a batch's time goes (figure 3's run)",
        "",
        f"Per micro-batch, from Spark's `durationMs` and the job's `articles_batch_written` line "
        f"(`bench/job_log.py`); load average {load:.1f} at the start on {doc['machine']['cores']} cores.",
        "",
        breakdown_table(phases, "articles"),
        "",
        breakdown_table(phases, "author_stats"),
        "",
    ]


def variant_lines(doc: dict[str, Any]) -> list[str]:
    """The results.md section of a ``--variant`` run: latency and batch breakdown per Spark setting, side by side."""
    variants = doc["result"]["variants"]
    if not variants:
        return []
    table = []
    columns = []
    for variant in variants:
        for phase in variant["phases"]:
            name = f"{variant['name']} @{phase['rate']}/s"
            columns.append({**phase, "variant": name})
            table.append(
                [
                    name,
                    ", ".join(f"{k}={v}" for k, v in variant["settings"].items()) or "(the job's settings)",
                    f"{variant['load_avg_at_start'][0]:.1f}",
                    f"{phase['p50']:.2f} / {phase['p99']:.2f}",
                    _cell(phase.get("breakdown", {}).get("articles", {}).get("triggerExecution")),
                    str(phase["articles_batches"]),
                ]
            )
    return [
        "## Spark settings side by side (`--variant`)",
        "",
        tabulate(
            table,
            headers=[
                "variant",
                "settings",
                "load (1 min)",
                "latency p50 / p99 s",
                "articles batch ms p50 / p90",
                "batches",
            ],
            tablefmt="github",
        ),
        "",
        breakdown_table(columns, "articles", label="variant"),
        "",
    ]
