"""Rows of the results table for figure 8 (``fan_out``: polling vs enhanced fan-out), and its notes with AWS' figures."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from bench.row_cells import row

_LABEL = {"polling": "polling (GetRecords)", "fan_out": "enhanced fan-out (SubscribeToShard)"}


def _setup(doc: dict[str, Any]) -> str:
    r = doc["result"]
    return (
        f"{doc['machine']['cores']} cores, {r['emulator']}, {r['record_bytes'] / 1024:g} KB records, "
        f"{r['shards']} shards, {r['records_per_shard']:,} records per shard, reads of {r['max_records']:,}, "
        f"median of {r['runs']} runs"
    )


def _loads(doc: dict[str, Any], mode: str) -> str:
    loads = [d["load_avg_1m_at_start"] for d in doc["result"]["drains"] if d["mode"] == mode]
    return f"load {min(loads):.1f}-{max(loads):.1f}" if loads else ""


def fan_out_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Figure 8: drain rate and calls per mode, latency per trigger and mode (AWS' figures: ``fan_out_lines``)."""
    r = doc["result"]
    aws = r["aws_published"]
    table = []
    for mode, summary in r["drain_summary"].items():
        calls = summary["calls"]
        table.append(
            row(
                f"8. Read modes, drain: {_LABEL[mode]}",
                f"{summary['records_per_s_per_shard']:,.0f} records/s per shard ({summary['mb_per_s_per_shard']:.2f} MB/s)",
                f"AWS: {aws[mode]['read_throughput']}",
                f"{_setup(doc)}, {_loads(doc, mode)}",
                met="reconciled" if summary["reconciled"] else "**not reconciled**",
            )
        )
        table.append(
            row(
                f"8. Read modes, calls: {_LABEL[mode]}",
                f"per 1,000 records: GetRecords {calls['get_records_per_1000']:g}, "
                f"SubscribeToShard {calls['subscribe_per_1000']:g}",
                f"per read: GetRecords {calls['get_records_per_read']:g}, SubscribeToShard "
                f"{calls['subscribe_per_read']:g}, retries {calls['retries_per_read']:g}; read p50 "
                f"{calls['read_seconds_p50']:.2f} s",
                f"{calls['reads']} reads of the drain runs",
            )
        )
    for phase in r["latency"]:
        for mode in phase["modes"]:
            latency = mode["latency_s"]
            calls = mode["calls"]
            table.append(
                row(
                    f"8. Read modes, latency at trigger {phase['trigger_s']:g} s: {_LABEL[mode['mode']]}",
                    f"p50 {latency['p50']:.2f} s, p95 {latency['p95']:.2f} s",
                    f"a read every {mode['read_interval_s_p50']:.2f} s (p50), {calls['retries_per_read']:g} retries "
                    "per read",
                    f"{phase['achieved_rate']:g} records/s for {phase['seconds']:g} s, {mode['read']:,} of "
                    f"{mode['expected']:,} read, load {phase['load_avg_1m_at_start']:.1f}",
                    met="reconciled" if mode["reconciled"] else "**not reconciled**",
                )
            )
    return table


def fan_out_lines(doc: dict[str, Any]) -> list[str]:
    """Under the table: this run's figures beside AWS' published ones, and what the emulator hides."""
    r = doc["result"]
    aws = r["aws_published"]
    headers = ["", "polling: this run", "polling: AWS", "fan-out: this run", "fan-out: AWS"]
    drain = r["drain_summary"]
    table = [
        [
            "read throughput per shard",
            f"{drain['polling']['mb_per_s_per_shard']:.2f} MB/s (one reader)",
            aws["polling"]["read_throughput"],
            f"{drain['fan_out']['mb_per_s_per_shard']:.2f} MB/s (reads of {r['max_records']:,})",
            aws["fan_out"]["read_throughput"],
        ],
        [
            "calls",
            f"{drain['polling']['calls']['get_records_per_read']:g} GetRecords per read",
            aws["polling"]["call_quota"],
            f"{drain['fan_out']['calls']['subscribe_per_read']:g} SubscribeToShard per read "
            f"({drain['fan_out']['calls']['retries_per_read']:g} refused and retried)",
            aws["fan_out"]["call_quota"],
        ],
    ]
    for phase in r["latency"]:
        modes = {m["mode"]: m["latency_s"] for m in phase["modes"]}
        table.append(
            [
                f"latency, trigger {phase['trigger_s']:g} s (p50 / p95)",
                f"{modes['polling']['p50']:.2f} / {modes['polling']['p95']:.2f} s",
                aws["polling"]["propagation"] + " (plus the trigger)",
                f"{modes['fan_out']['p50']:.2f} / {modes['fan_out']['p95']:.2f} s",
                aws["fan_out"]["propagation"] + " (plus the trigger)",
            ]
        )
    table.append(["consumers", "", aws["polling"]["consumers"], "", aws["fan_out"]["consumers"]])
    return [
        "## Read modes beside AWS' published figures (figure 8)",
        "",
        tabulate(table, headers=headers, tablefmt="github"),
        "",
        r["emulator_note"],
        "",
    ]
