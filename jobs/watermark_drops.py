"""Rows a query's watermark dropped, counted per batch and kept beside its checkpoint.

Spark reports them per stateful operator in each batch's progress (``numRowsDroppedByWatermark``);
here ``author_stats`` drops articles whose window the watermark already closed (published more than
``WATERMARK_DELAY`` before the newest). The running total lives in ``<checkpoint>/watermark-drops.json``
so the job's log, ``make status`` and ``make reconcile`` tell the same number across restarts.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from typing import Any

FILE_NAME = "watermark-drops.json"


def dropped_in_batch(progress: dict[str, Any]) -> int:
    """Rows the batch's stateful operators dropped as older than the watermark."""
    return sum(int(operator.get("numRowsDroppedByWatermark") or 0) for operator in progress.get("stateOperators", []))


@dataclass(frozen=True)
class WatermarkDrops:
    """The total a query's watermark dropped, through batch ``through_batch`` (-1: none counted yet)."""

    total: int = 0
    through_batch: int = -1

    @classmethod
    def load(cls, checkpoint_dir: str) -> WatermarkDrops:
        try:
            with open(os.path.join(checkpoint_dir, FILE_NAME), encoding="utf-8") as handle:
                return cls(**json.load(handle))
        except FileNotFoundError:
            return cls()

    def add(self, checkpoint_dir: str, batch_id: int, dropped: int) -> WatermarkDrops:
        """Count batch ``batch_id`` once (a batch already counted is not counted again) and save."""
        if batch_id <= self.through_batch:
            return self
        updated = WatermarkDrops(self.total + dropped, batch_id)
        if dropped or not os.path.exists(os.path.join(checkpoint_dir, FILE_NAME)):
            os.makedirs(checkpoint_dir, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=checkpoint_dir, prefix=".tmp-drops-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(asdict(updated), out)
            os.replace(temporary, os.path.join(checkpoint_dir, FILE_NAME))
        return updated
