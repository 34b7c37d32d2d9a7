"""``latency.png``, ``scaling.png`` and ``fan_out.png``, from the JSON results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.progress import log
from bench.result_files import load_result


def plot(results: Path) -> list[Path]:
    """Draw the plot of each figure that has a result in ``results`` (latency, scaling, fan_out); returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    if doc := load_result(results, "latency"):
        written.append(results / "latency.png")
        _plot_latency(plt, doc, written[-1])
    if doc := load_result(results, "scaling"):
        written.append(results / "scaling.png")
        _plot_scaling(plt, doc, written[-1])
    if doc := load_result(results, "fan_out"):
        written.append(results / "fan_out.png")
        _plot_fan_out(plt, doc, written[-1])
    for path in written:
        log(f"wrote {path}")
    return written


def _plot_latency(plt: Any, doc: dict[str, Any], path: Path) -> None:
    """Figure 3: p50/p95/p99 per publish rate, against the targets."""
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
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plot_scaling(plt: Any, doc: dict[str, Any], path: Path) -> None:
    """Figure 4: job, source and boto3 throughput against shards and against record size."""
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
        f"Throughput, {doc['machine']['cores']} cores, moto, local[2], {r['records']:,} records, median of {r['runs']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _plot_fan_out(plt: Any, doc: dict[str, Any], path: Path) -> None:
    """Figure 8: latency distribution (CDF) per mode and trigger; drain throughput per mode."""
    r = doc["result"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
    styles = {"polling": "-", "fan_out": "--"}
    for phase in r["latency"]:
        for mode in phase["modes"]:
            values = mode["latencies"]
            if not values:
                continue
            fractions = [(i + 1) / len(values) for i in range(len(values))]
            left.step(
                values,
                fractions,
                styles[mode["mode"]],
                where="post",
                label=f"{mode['mode']}, trigger {phase['trigger_s']:g} s (p50 {mode['latency_s']['p50']:.2f} s)",
            )
    left.set_xlabel("put -> read returned (s)")
    left.set_ylabel("fraction of records")
    left.set_title(f"Latency, {r['latency'][0]['rate']:g} records/s" if r["latency"] else "Latency")
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    modes = list(r["drain_summary"])
    right.bar(modes, [r["drain_summary"][m]["records_per_s_per_shard"] for m in modes], color=["C0", "C1"])
    right.set_ylabel("records/s per shard")
    right.set_title(f"Drain, reads of {r['max_records']:,}")
    right.grid(alpha=0.3, axis="y")
    fig.suptitle(
        f"Polling vs enhanced fan-out, {r['emulator']}, {doc['machine']['cores']} cores, "
        f"{r['shards']} shards, {r['record_bytes'] / 1024:g} KB records"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
