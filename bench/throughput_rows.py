"""Rows of the results table for figures 1, 2 and 4 (``job_throughput``, ``source_overhead``, ``scaling``)."""

from __future__ import annotations

from typing import Any

from bench.row_cells import row, setup_cell, target_row
from bench.stats import median_of_present


def _data_batch_ms(run: dict[str, Any]) -> float | None:
    """triggerExecution of the batch that carried the data, the slower of the two queries."""
    durations = [b["triggerExecution"] for batches in run.get("batches", {}).values() for b in batches if b["rows"]]
    return max(durations) if durations else None


def _moto_cpu_rows(
    doc: dict[str, Any], figure: str, measured: tuple[str, str], baseline: tuple[str, str]
) -> list[list[str]]:
    """moto's median CPU seconds per drain of each side: (runs key, cell template) each; no row when not recorded."""
    r = doc["result"]
    measured_cpu = median_of_present([run.get("moto_cpu_seconds") for run in r[measured[0]]])
    if not measured_cpu:
        return []
    baseline_cpu = median_of_present([run.get("moto_cpu_seconds") for run in r[baseline[0]]]) or 0
    return [row(figure, measured[1].format(measured_cpu), baseline[1].format(baseline_cpu), setup_cell(doc, r))]


def job_throughput_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Figure 1: the job fed by Kinesis vs the in-process source; its data micro-batch; moto's CPU."""
    r = doc["result"]
    table = [
        target_row(
            doc,
            "1. Job throughput (Kinesis-fed vs in-process source), wall incl. query start",
            f"{r['kinesis_articles_per_s']:,.0f} articles/s",
            f"{r['memory_articles_per_s']:,.0f} articles/s",
            ratio=r["ratio"],
            target=0.8,
        )
    ]
    kinesis_batch = median_of_present([_data_batch_ms(run) for run in r["kinesis_runs"]])
    memory_batch = median_of_present([_data_batch_ms(run) for run in r["memory_runs"]])
    if kinesis_batch and memory_batch:
        table.append(
            row(
                "1. Job: the data micro-batch alone (slower query's triggerExecution)",
                f"{kinesis_batch / 1000:.1f} s ({r['records'] / kinesis_batch * 1000:,.0f} articles/s)",
                f"{memory_batch / 1000:.1f} s ({r['records'] / memory_batch * 1000:,.0f} articles/s)",
                setup_cell(doc, r),
                ratio=f"{memory_batch / kinesis_batch:.2f}",
            )
        )
    return table + _moto_cpu_rows(
        doc,
        "1. Job: CPU the emulator burned on the same 2 cores during a run",
        ("kinesis_runs", "moto {:.1f} CPU-s (Kinesis-fed)"),
        ("memory_runs", "moto {:.1f} CPU-s (in-process source; S3 writes only)"),
    )


def source_overhead_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Figure 2: the Kinesis source vs the boto3 loop; inside micro-batches only; moto's CPU."""
    r = doc["result"]
    boto3_rate = r["boto3_records_per_s"]
    table = [
        target_row(
            doc,
            "2. Source overhead (Kinesis source -> noop vs boto3 GetRecords loop), wall incl. query start",
            f"{r['source_records_per_s']:,.0f} records/s",
            f"{boto3_rate:,.0f} records/s",
            ratio=r["ratio"],
            target=0.9,
        )
    ]
    in_batch = median_of_present(
        [run["records"] / run["in_batch_seconds"] for run in r["source_runs"] if run.get("in_batch_seconds")]
    )
    if in_batch:
        table.append(
            row(
                "2. Source: inside micro-batches only (sum of triggerExecution)",
                f"{in_batch:,.0f} records/s",
                f"{boto3_rate:,.0f} records/s",
                setup_cell(doc, r),
                ratio=f"{in_batch / boto3_rate:.2f}",
            )
        )
    cpu_cells = ("source_runs", "{:.1f} CPU-s (source)"), ("boto3_runs", "{:.1f} CPU-s (boto3 loop)")
    return table + _moto_cpu_rows(doc, "2. Source: moto CPU per drain", *cpu_cells)


def scaling_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Figure 4: one row per shard count and record size."""
    r = doc["result"]
    return [
        row(
            f"4. Scaling: {point['shards']} shard(s), {point['record_bytes'] // 1024} KB records",
            f"job {point['job_articles_per_s']:,.0f} articles/s ({point['job_mb_per_s']:.1f} MB/s); "
            f"source {point['source_records_per_s']:,.0f}/s",
            f"boto3 {point['boto3_records_per_s']:,.0f}/s",
            setup_cell(doc, {**point, "runs": r["runs"]}) + ", local[2]",
        )
        for point in r["points"]
    ] + [
        row(
            f"4. Scaling: {point['executors']} executor(s) x {point['cores_per_executor']} core(s)",
            f"job {point['job_articles_per_s']:,.0f} articles/s",
            f"{point['shards']} shard(s), {point['record_bytes'] // 1024} KB records",
            setup_cell(doc, {**point, "runs": r["runs"]})
            + f", local-cluster[{point['executors']},{point['cores_per_executor']},{point['executor_memory_mb']}]"
            " on the same 2 cores",
        )
        for point in r.get("executor_points", [])
    ]
