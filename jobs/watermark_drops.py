"""Rows a query's watermark dropped, counted per batch and kept beside its checkpoint.

Spark reports them per stateful operator in each batch's progress (``numRowsDroppedByWatermark``);
here ``author_stats`` drops articles whose window the watermark already closed (published more than
``WATERMARK_DELAY`` before the newest). The running total lives in ``<checkpoint>/watermark-drops.json``
so the job's log, ``make status`` and ``make reconcile`` tell the same number across restarts.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from jobs.checkpoint_files import CheckpointFiles

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
    def load(cls, files: CheckpointFiles, checkpoint_dir: str) -> WatermarkDrops:
        text = files.read_text(os.path.join(checkpoint_dir, FILE_NAME))
        return cls() if text is None else cls(**json.loads(text))

    def add(self, files: CheckpointFiles, checkpoint_dir: str, batch_id: int, dropped: int) -> WatermarkDrops:
        """Count batch ``batch_id`` once (a batch already counted is not counted again) and save.

        The file is written when the total changes, and once at the first batch (so it exists).
        """
        if batch_id <= self.through_batch:
            return self
        updated = WatermarkDrops(self.total + dropped, batch_id)
        if dropped or self.through_batch < 0:
            files.write_text(os.path.join(checkpoint_dir, FILE_NAME), json.dumps(asdict(updated)))
        return updated
