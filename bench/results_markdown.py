"""``bench/results/results.md``: one table of every figure, before against now, and the plots, from the JSON results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tabulate import tabulate

from bench.dedup_rows import dedup_rows
from bench.fan_out_rows import fan_out_lines, fan_out_rows
from bench.latency_rows import breakdown_lines, latency_rows, memory_rows, variant_lines
from bench.progress import log
from bench.publisher_rows import publisher_rows
from bench.result_files import all_results, load_result
from bench.throughput_rows import job_throughput_rows, scaling_rows, source_overhead_rows

_ROWS: dict[str, Callable[[dict[str, Any]], list[list[str]]]] = {
    "job_throughput": job_throughput_rows,
    "source_overhead": source_overhead_rows,
    "latency": latency_rows,
    "scaling": scaling_rows,
    "publisher": publisher_rows,
    "memory": memory_rows,
    "dedup": dedup_rows,
    "fan_out": fan_out_rows,
}


def rows(results: Path) -> list[list[str]]:
    """The results table: one or more rows per benchmark that has a result file."""
    table: list[list[str]] = []
    for name, make_rows in _ROWS.items():
        if doc := load_result(results, name):
            table.extend(make_rows(doc))
    return table


def before_after(results: Path) -> list[str]:
    """Before (``before/``: the results of the previous design, kept) against now, the headline figures."""
    before_dir = results / "before"
    pairs = {
        name: (load_result(before_dir, name), load_result(results, name))
        for name in ("latency", "job_throughput", "memory")
    }
    if not all(before and after for before, after in pairs.values()):
        return []

    def phase(doc: dict[str, Any], rate: str) -> dict[str, Any]:
        return next((p for p in doc["result"]["phases"] if p["rate"] == rate), {})

    def reads(doc: dict[str, Any]) -> str:
        values = [p.get("get_records_per_shard_per_trigger") for p in doc["result"]["phases"]]
        present = [v for v in values if v is not None]
        return f"{max(present):.2f} (worst phase)" if present else "2.0 (two queries read the stream; issue 17)"

    latency_before, latency_after = pairs["latency"]
    throughput_before, throughput_after = pairs["job_throughput"]
    memory_before, memory_after = pairs["memory"]
    assert latency_before and latency_after and throughput_before and throughput_after  # checked above
    assert memory_before and memory_after
    table = [["GetRecords calls per shard per trigger", reads(latency_before), reads(latency_after)]]
    for rate in ("100", "1000"):
        old, new = phase(latency_before, rate), phase(latency_after, rate)
        if old and new:
            table.append(
                [
                    f"End-to-end latency at {rate}/s, p50 / p99",
                    f"{old['p50']:.2f} s / {old['p99']:.2f} s",
                    f"{new['p50']:.2f} s / {new['p99']:.2f} s",
                ]
            )
    old_r, new_r = throughput_before["result"], throughput_after["result"]
    table.append(
        [
            "Job throughput (ratio to the in-process source)",
            f"{old_r['kinesis_articles_per_s']:,.0f} articles/s ({old_r['ratio']:.2f})",
            f"{new_r['kinesis_articles_per_s']:,.0f} articles/s ({new_r['ratio']:.2f})",
        ]
    )
    for key, label in (("jvm_peak_rss_mb", "JVM peak RSS"), ("python_driver_peak_rss_mb", "Python driver peak RSS")):
        table.append([label, f"{memory_before['result'][key]:,.0f} MB", f"{memory_after['result'][key]:,.0f} MB"])
    loads = (
        f"latency run before {load_note(latency_before)}, now {load_note(latency_after)}; "
        f"throughput run before {load_note(throughput_before)}, now {load_note(throughput_after)}"
    )
    return [
        "## Before and after",
        "",
        tabulate(table, headers=["Figure", "Before (bench/results/before/)", "Now"], tablefmt="github"),
        "",
        f"Load average at the start of each run ({latency_after['machine']['cores']} cores): {loads}.",
        "",
    ]


def load_note(doc: dict[str, Any]) -> str:
    """The 1-minute load average at the start of a run, marked busy when above the core count."""
    machine = doc["machine"]
    load = machine["load_avg_at_start"][0]
    return f"{load:.1f}" + (" (busy)" if load > machine["cores"] else "")


def write_markdown(results: Path) -> Path:
    """Write ``results.md`` from the JSON results (and link the PNG plots) in ``results``; returns its path."""
    table = rows(results)
    machines = all_results(results)
    header = ["# Benchmark results", ""]
    if machines:
        any_doc = next(iter(machines.values()))
        m = any_doc["machine"]
        header += [
            f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, pyspark "
            f"{m['versions'].get('pyspark')}, pyarrow {m['versions'].get('pyarrow')}; emulator {m['emulator']}.",
            "Generated by `make bench` (`python -m bench`): "
            + ", ".join(f"{name} at {doc['generated_at']} (load {load_note(doc)})" for name, doc in machines.items())
            + ".",
            "",
        ]
    body = tabulate(
        table, headers=["Figure", "Measured", "Baseline / detail", "Ratio", "Target", "Met", "Setup"], tablefmt="github"
    )
    plots = [f"![{p.stem}]({p.name})" for p in sorted(results.glob("*.png"))]
    breakdowns = [
        *(breakdown_lines(doc) if (doc := load_result(results, "latency")) else []),
        *(variant_lines(doc) if (doc := load_result(results, "latency_variants")) else []),
        *(fan_out_lines(doc) if (doc := load_result(results, "fan_out")) else []),
    ]
    path = results / "results.md"
    path.write_text("\n".join([*header, body, "", *breakdowns, *before_after(results), *plots]) + "\n")
    log(f"wrote {path}")
    return path
