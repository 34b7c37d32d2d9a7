"""Rows of the results table for figure 7 (``dedup``)."""

from __future__ import annotations

from typing import Any

from bench.row_cells import row


def dedup_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Figure 7: one row per cache size."""
    sizes = doc["result"]["sizes"]
    return [
        row(
            f"Dedup cache, {size['ids']:,} ids",
            f"{size['bytes_per_id']} B per id: {size['bytes_per_id']:,} MB per million ids",
            f"decide: {size['decide_ms_per_10k_new']} ms per 10k new rows, "
            f"{size['decide_ms_per_10k_duplicates']} ms per 10k duplicates",
            f"pure Python in this process, {sizes[0].get('runs', 3)} runs (median)",
        )
        for size in sizes
    ]
