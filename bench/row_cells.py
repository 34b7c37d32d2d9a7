"""A row of the results table, and the cells rows share: the setup it was measured in, whether it met its target."""

from __future__ import annotations

import math
from typing import Any


def setup_cell(doc: dict[str, Any], result: dict[str, Any], runs: Any = None) -> str:
    """Cores, moto version, record size, shards, records and runs of one result."""
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


def met_cell(value: float, target: float, higher_is_better: bool = True) -> str:
    """``yes``, ``**no**`` or ``n/a`` (no value)."""
    if math.isnan(value):
        return "n/a"
    return "yes" if (value >= target if higher_is_better else value <= target) else "**no**"


def row(
    figure: str, measured: str, detail: str, setup: str, *, ratio: str = "", target: str = "", met: str = ""
) -> list[str]:
    """One row, in the table's column order: figure, measured, baseline / detail, ratio, target, met, setup."""
    return [figure, measured, detail, ratio, target, met, setup]


def target_row(
    doc: dict[str, Any], figure: str, measured: str, baseline: str, *, ratio: float, target: float
) -> list[str]:
    """A figure's headline row: measured against its baseline, their ratio, and whether the ratio reaches ``target``."""
    return row(
        figure,
        measured,
        baseline,
        setup_cell(doc, doc["result"]),
        ratio=f"{ratio:.2f}",
        target=f">= {target:g}",
        met=met_cell(ratio, target),
    )
