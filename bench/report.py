"""``bench/results/results.md`` (one table of every figure) and PNG plots, from the JSON results."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tabulate import tabulate

from bench.env import log


def _load(results: Path, name: str) -> dict[str, Any] | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _setup(doc: dict[str, Any], result: dict[str, Any], runs: Any = None) -> str:
    machine = doc["machine"]
    parts = [f"{machine['cores']} cores", f"moto {machine['versions'].get('moto')}"]
    if result.get("record_bytes"):
        parts.append(f"{result['record_bytes'] / 1024:g} KB records")
    if result.get("shards"):
        parts.append(f"{result['shards']} shard{'s' if result['shards'] > 1 else ''}")
    if result.get("records"):
        parts.append(f"{result['records']:,} records")
    runs = runs if runs is not None else result.get("runs")
    if runs:
        parts.append(f"median of {runs} runs")
    return ", ".join(parts)


def _median(values: list[float | None]) -> float | None:
    import statistics

    present = [v for v in values if v]
    return statistics.median(present) if present else None


def _data_batch_ms(run: dict[str, Any]) -> float | None:
    """triggerExecution of the batch that carried the data, the slower of the two queries."""
    durations = [b["triggerExecution"] for batches in run.get("batches", {}).values() for b in batches if b["rows"]]
    return max(durations) if durations else None


def _met(value: float, target: float, higher_is_better: bool = True) -> str:
    if math.isnan(value):
        return "n/a"
    return "yes" if (value >= target if higher_is_better else value <= target) else "**no**"


def _job_throughput_rows(doc: dict[str, Any]) -> list[list[str]]:
    table: list[list[str]] = []
    r = doc["result"]
    table.append(
        [
            "1. Job throughput (Kinesis-fed vs in-process source), wall incl. query start",
            f"{r['kinesis_articles_per_s']:,.0f} articles/s",
            f"{r['memory_articles_per_s']:,.0f} articles/s",
            f"{r['ratio']:.2f}",
            ">= 0.8",
            _met(r["ratio"], 0.8),
            _setup(doc, r),
        ]
    )
    kinesis_batch = _median([_data_batch_ms(run) for run in r["kinesis_runs"]])
    memory_batch = _median([_data_batch_ms(run) for run in r["memory_runs"]])
    if kinesis_batch and memory_batch:
        table.append(
            [
                "1. Job: the data micro-batch alone (slower query's triggerExecution)",
                f"{kinesis_batch / 1000:.1f} s ({r['records'] / kinesis_batch * 1000:,.0f} articles/s)",
                f"{memory_batch / 1000:.1f} s ({r['records'] / memory_batch * 1000:,.0f} articles/s)",
                f"{memory_batch / kinesis_batch:.2f}",
                "",
                "",
                _setup(doc, r),
            ]
        )
    kinesis_cpu = _median([run.get("moto_cpu_seconds") for run in r["kinesis_runs"]])
    if kinesis_cpu:
        table.append(
            [
                "1. Job: CPU the emulator burned on the same 2 cores during a run",
                f"moto {kinesis_cpu:.1f} CPU-s (Kinesis-fed)",
                f"moto {_median([run.get('moto_cpu_seconds') for run in r['memory_runs']]) or 0:.1f} CPU-s "
                "(in-process source; S3 writes only)",
                "",
                "",
                "",
                _setup(doc, r),
            ]
        )
    return table


def _source_overhead_rows(doc: dict[str, Any]) -> list[list[str]]:
    table: list[list[str]] = []
    r = doc["result"]
    table.append(
        [
            "2. Source overhead (Kinesis source -> noop vs boto3 GetRecords loop), wall incl. query start",
            f"{r['source_records_per_s']:,.0f} records/s",
            f"{r['boto3_records_per_s']:,.0f} records/s",
            f"{r['ratio']:.2f}",
            ">= 0.9",
            _met(r["ratio"], 0.9),
            _setup(doc, r),
        ]
    )
    in_batch = _median(
        [run["records"] / run["in_batch_seconds"] for run in r["source_runs"] if run.get("in_batch_seconds")]
    )
    if in_batch:
        table.append(
            [
                "2. Source: inside micro-batches only (sum of triggerExecution)",
                f"{in_batch:,.0f} records/s",
                f"{r['boto3_records_per_s']:,.0f} records/s",
                f"{in_batch / r['boto3_records_per_s']:.2f}",
                "",
                "",
                _setup(doc, r),
            ]
        )
    source_cpu = _median([run.get("moto_cpu_seconds") for run in r["source_runs"]])
    if source_cpu:
        table.append(
            [
                "2. Source: moto CPU per drain",
                f"{source_cpu:.1f} CPU-s (source)",
                f"{_median([run.get('moto_cpu_seconds') for run in r['boto3_runs']]) or 0:.1f} CPU-s (boto3 loop)",
                "",
                "",
                "",
                _setup(doc, r),
            ]
        )
    return table


def _latency_rows(doc: dict[str, Any]) -> list[list[str]]:
    table: list[list[str]] = []
    r = doc["result"]
    for phase in r["phases"]:
        target = phase["rate"] == "1000"
        met = (_met(phase["p50"], 2.0, False) + " / " + _met(phase["p99"], 5.0, False)) if target else ""
        if phase["missing"]:
            met = f"**no** ({phase['missing']} not visible)"
        table.append(
            [
                f"3. End-to-end latency at {phase['rate']}/s (achieved {phase['achieved_rate']:,.0f}/s)",
                f"p50 {phase['p50']:.2f} s, p95 {phase['p95']:.2f} s, p99 {phase['p99']:.2f} s",
                f"{phase['articles']:,} articles",
                "",
                "p50 <= 2 s, p99 <= 5 s" if target else "",
                met,
                _setup(doc, {**r, "runs": None}) + f", trigger {r['trigger']!r} (author_stats "
                f"{r.get('author_stats_trigger', r['trigger'])!r}), 1 run of "
                f"{phase['seconds']:g} s, poll {r['poll_seconds']:g} s",
            ]
        )
        if phase.get("enriched_write_ms_median") is not None:
            table.append(
                [
                    f"3. Delta writes at {phase['rate']}/s (median per batch)",
                    f"enriched append {phase['enriched_write_ms_median']:,.0f} ms (rows + commit)",
                    f"foreachBatch {phase['articles_sink_ms_median'] or 0:,.0f} ms; "
                    f"author_stats sink {phase['author_stats_sink_ms_median'] or 0:,.0f} ms",
                    "",
                    "",
                    "",
                    "from the job log (articles_batch_written, Spark's durationMs.addBatch)",
                ]
            )
        if phase.get("get_records_per_shard_per_trigger") is not None:
            table.append(
                [
                    f"3. Kinesis read budget at {phase['rate']}/s: GetRecords calls per shard per trigger",
                    f"{phase['get_records_per_shard_per_trigger']:.2f}",
                    "2.0 before (two queries read the stream)",
                    "",
                    "1 read per trigger",
                    _met(phase["get_records_per_shard_per_trigger"], 1.5, False),
                    "from the position log's per-shard call counts",
                ]
            )
    return table


def _scaling_rows(doc: dict[str, Any]) -> list[list[str]]:
    table: list[list[str]] = []
    r = doc["result"]
    for point in r["points"]:
        table.append(
            [
                f"4. Scaling: {point['shards']} shard(s), {point['record_bytes'] // 1024} KB records",
                f"job {point['job_articles_per_s']:,.0f} articles/s ({point['job_mb_per_s']:.1f} MB/s); "
                f"source {point['source_records_per_s']:,.0f}/s",
                f"boto3 {point['boto3_records_per_s']:,.0f}/s",
                "",
                "",
                "",
                _setup(doc, {**point, "runs": r["runs"]}) + ", local[2]",
            ]
        )
    return table


def _publisher_rows(doc: dict[str, Any]) -> list[list[str]]:
    table: list[list[str]] = []
    r = doc["result"]
    table.append(
        [
            "5. Publisher: KinesisWriter.put vs raw PutRecords loop (500/call)",
            f"{r['writer_records_per_s']:,.0f} records/s",
            f"{r['raw_put_records_per_s']:,.0f} records/s",
            f"{r['ratio_writer_vs_raw']:.2f}",
            ">= 0.9",
            _met(r["ratio_writer_vs_raw"], 0.9),
            _setup(doc, r),
        ]
    )
    table.append(
        [
            "5. Publisher: KinesisWriter.put vs one PutRecord per article",
            f"{r['writer_records_per_s']:,.0f} records/s",
            f"{r['put_record_per_s']:,.0f} records/s",
            f"{r['batching_speedup']:.1f}x",
            "",
            "",
            _setup(doc, {**r, "records": r["single_records"]}),
        ]
    )
    if overhead := r.get("client_side_overhead"):
        table.append(
            [
                "5. Publisher: client-side cost per record (instant fake client)",
                f"KinesisWriter {overhead['writer_us_per_record']:.2f} us",
                f"bare loop {overhead['raw_loop_us_per_record']:.2f} us",
                "",
                "",
                "",
                f"{doc['machine']['cores']} cores, {r['records']:,} records, best of 5",
            ]
        )
    return table


def _memory_rows(doc: dict[str, Any]) -> list[list[str]]:
    table: list[list[str]] = []
    r = doc["result"]
    steady = r["steady_state_max_rss_by_phase"]
    phases = [name for name in steady if name != "startup"]
    steady_phase = "rate_1000" if "rate_1000" in steady else (phases[0] if phases else None)
    at = steady.get(steady_phase, {}) if steady_phase else {}
    table.append(
        [
            "6. Memory: JVM (driver + executor, local[2])",
            f"peak RSS {r['jvm_peak_rss_mb']:,.0f} MB",
            f"steady ({steady_phase}) {at.get('jvm_rss_mb', 0):,.0f} MB",
            "",
            "",
            "",
            f"{doc['machine']['cores']} cores, job process during the latency run",
        ]
    )
    table.append(
        [
            "6. Memory: Python workers (all Spark-started Python processes)",
            f"{r['python_workers']} processes, largest peak RSS {r['python_workers_peak_rss_mb_max_single']:,.0f} MB",
            f"steady ({steady_phase}) {at.get('python_worker_pss_mb', at.get('python_worker_rss_mb', 0)):,.0f}"
            f" MB PSS total",
            "",
            "",
            "",
            f"{doc['machine']['cores']} cores, job process during the latency run",
        ]
    )
    table.append(
        [
            "6. Memory: Python driver",
            f"peak RSS {r['python_driver_peak_rss_mb']:,.0f} MB",
            f"steady ({steady_phase}) {at.get('python_driver_rss_mb', 0):,.0f} MB",
            "",
            "",
            "",
            f"{doc['machine']['cores']} cores",
        ]
    )
    return table


def _dedup_rows(doc: dict[str, Any]) -> list[list[str]]:
    result_rows = []
    for size in doc["result"]["sizes"]:
        result_rows.append(
            [
                f"Dedup cache, {size['ids']:,} ids",
                f"{size['bytes_per_id']} B per id: {size['bytes_per_id']:,} MB per million ids",
                f"decide: {size['decide_ms_per_10k_new']} ms per 10k new rows, "
                f"{size['decide_ms_per_10k_duplicates']} ms per 10k duplicates",
                "",
                "",
                "",
                f"pure Python in this process, {doc['result']['sizes'][0].get('runs', 3)} runs (median)",
            ]
        )
    return result_rows


_ROWS = {
    "job_throughput": _job_throughput_rows,
    "source_overhead": _source_overhead_rows,
    "latency": _latency_rows,
    "scaling": _scaling_rows,
    "publisher": _publisher_rows,
    "memory": _memory_rows,
    "dedup": _dedup_rows,
}


def rows(results: Path) -> list[list[str]]:
    """The results table: one or more rows per benchmark that has a result file."""
    table: list[list[str]] = []
    for name, make_rows in _ROWS.items():
        if doc := _load(results, name):
            table.extend(make_rows(doc))
    return table


def _before_after(results: Path) -> list[str]:
    """Before (``before/``: the results of the previous design, kept) against now, the headline figures."""
    before_dir = results / "before"
    pairs = {name: (_load(before_dir, name), _load(results, name)) for name in ("latency", "job_throughput", "memory")}
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
        f"latency run before {_load_note(latency_before)}, now {_load_note(latency_after)}; "
        f"throughput run before {_load_note(throughput_before)}, now {_load_note(throughput_after)}"
    )
    return [
        "## Before and after",
        "",
        tabulate(table, headers=["Figure", "Before (bench/results/before/)", "Now"], tablefmt="github"),
        "",
        f"Load average at the start of each run ({latency_after['machine']['cores']} cores): {loads}.",
        "",
    ]


def _load_note(doc: dict[str, Any]) -> str:
    """The 1-minute load average at the start of a run, marked busy when above the core count."""
    machine = doc["machine"]
    load = machine["load_avg_at_start"][0]
    return f"{load:.1f}" + (" (busy)" if load > machine["cores"] else "")


def write_markdown(results: Path) -> Path:
    table = rows(results)
    machines = {}
    for path in sorted(results.glob("*.json")):
        doc = json.loads(path.read_text())
        machines[path.stem] = doc
    header = ["# Benchmark results", ""]
    if machines:
        any_doc = next(iter(machines.values()))
        m = any_doc["machine"]
        header += [
            f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, pyspark "
            f"{m['versions'].get('pyspark')}, pyarrow {m['versions'].get('pyarrow')}; emulator {m['emulator']}.",
            "Generated by `make bench` (`python -m bench`): "
            + ", ".join(f"{name} at {doc['generated_at']} (load {_load_note(doc)})" for name, doc in machines.items())
            + ".",
            "",
        ]
    body = tabulate(
        table, headers=["Figure", "Measured", "Baseline / detail", "Ratio", "Target", "Met", "Setup"], tablefmt="github"
    )
    plots = [f"![{p.stem}]({p.name})" for p in sorted(results.glob("*.png"))]
    path = results / "results.md"
    path.write_text("\n".join([*header, body, "", *_before_after(results), *plots]) + "\n")
    log(f"wrote {path}")
    return path


def plot(results: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    if doc := _load(results, "latency"):
        phases = doc["result"]["phases"]
        labels = [f"{p['rate']}/s\n(achieved {p['achieved_rate']:,.0f})" for p in phases]
        fig, ax = plt.subplots(figsize=(7, 4))
        width = 0.25
        for offset, key in enumerate(("p50", "p95", "p99")):
            ax.bar([i + (offset - 1) * width for i in range(len(phases))], [p[key] for p in phases], width, label=key)
        ax.axhline(2.0, color="grey", linestyle=":", linewidth=1, label="target p50 (2 s)")
        ax.axhline(5.0, color="black", linestyle="--", linewidth=1, label="target p99 (5 s)")
        ax.set_xticks(range(len(phases)), labels)
        ax.set_ylabel("publish -> visible in enriched_articles/ (s)")
        ax.set_title(
            f"End-to-end latency per publish rate ({doc['machine']['cores']} cores, moto, "
            f"{doc['result']['record_bytes'] // 1024} KB)"
        )
        ax.legend(fontsize=8)
        fig.tight_layout()
        written.append(results / "latency.png")
        fig.savefig(written[-1], dpi=90)
        plt.close(fig)
    if doc := _load(results, "scaling"):
        r = doc["result"]
        by_shards = [p for p in r["points"] if p["record_bytes"] == r["base_record_bytes"]]
        by_size = [p for p in r["points"] if p["shards"] == r["base_shards"]]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        for axis, points, key, label in (
            (left, by_shards, "shards", "shards"),
            (right, sorted(by_size, key=lambda p: p["record_bytes"]), "record_bytes", "record size (KB)"),
        ):
            xs = [p[key] if key == "shards" else p[key] // 1024 for p in points]
            axis.plot(xs, [p["job_articles_per_s"] for p in points], "o-", label="job (both queries)")
            axis.plot(xs, [p["source_records_per_s"] for p in points], "s-", label="Kinesis source -> noop")
            axis.plot(xs, [p["boto3_records_per_s"] for p in points], "^--", label="boto3 GetRecords loop")
            axis.set_xlabel(label)
            axis.set_ylabel("records/s")
            axis.set_xticks(xs)
            axis.grid(alpha=0.3)
        left.set_title(f"vs shards ({r['base_record_bytes'] // 1024} KB records)")
        right.set_title(f"vs record size ({r['base_shards']} shards)")
        left.legend(fontsize=8)
        fig.suptitle(
            f"Throughput, {doc['machine']['cores']} cores, moto, local[2], {r['records']:,} records, "
            f"median of {r['runs']}"
        )
        fig.tight_layout()
        written.append(results / "scaling.png")
        fig.savefig(written[-1], dpi=90)
        plt.close(fig)
    for path in written:
        log(f"wrote {path}")
    return written
