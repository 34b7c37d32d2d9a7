"""Rows of the results table for figure 5 (``publisher``)."""

from __future__ import annotations

from typing import Any

from bench.row_cells import row, setup_cell, target_row


def publisher_rows(doc: dict[str, Any]) -> list[list[str]]:
    """Figure 5: KinesisWriter vs the raw PutRecords loop and vs PutRecord; the client-side cost."""
    r = doc["result"]
    writer_rate = f"{r['writer_records_per_s']:,.0f} records/s"
    table = [
        target_row(
            doc,
            "5. Publisher: KinesisWriter.put vs raw PutRecords loop (500/call)",
            writer_rate,
            f"{r['raw_put_records_per_s']:,.0f} records/s",
            ratio=r["ratio_writer_vs_raw"],
            target=0.9,
        ),
        row(
            "5. Publisher: KinesisWriter.put vs one PutRecord per article",
            writer_rate,
            f"{r['put_record_per_s']:,.0f} records/s",
            setup_cell(doc, {**r, "records": r["single_records"]}),
            ratio=f"{r['batching_speedup']:.1f}x",
        ),
    ]
    if overhead := r.get("client_side_overhead"):
        table.append(
            row(
                "5. Publisher: client-side cost per record (instant fake client)",
                f"KinesisWriter {overhead['writer_us_per_record']:.2f} us",
                f"bare loop {overhead['raw_loop_us_per_record']:.2f} us",
                f"{doc['machine']['cores']} cores, {r['records']:,} records, best of 5",
            )
        )
    return table
