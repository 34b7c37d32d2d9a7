"""When each article first showed in the ``enriched_articles`` Delta table: what a reader of the table sees."""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.emulator import Emulator
from common.contract import ENRICHED_ARTICLES


class Visibility:
    """Polls the ``enriched_articles`` Delta table (its log, via deltalake) and records when each article_id
    first appears in a committed version: what a reader of the table sees."""

    def __init__(self, emulator: Emulator, bucket: str, poll: float) -> None:
        self.aws = emulator.aws
        self.bucket = bucket
        self.poll = poll
        self.seen: dict[str, float] = {}
        self._table: Any = None
        self._version = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.errors = 0

    def start(self) -> None:
        """Start polling in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (waits up to 10 s for the poll under way)."""
        self._stop.set()
        self._thread.join(10)

    def _scan(self) -> None:
        from ops.outputs import open_table

        polled_at = time.time()
        if self._table is None:
            self._table = open_table(self.aws, self.bucket, ENRICHED_ARTICLES)
            if self._table is None:
                return
        else:
            self._table.update_incremental()
        if self._table.version() == self._version:
            return
        self._version = self._table.version()
        for article_id in self._table.to_pyarrow_table(columns=["article_id"]).column(0).to_pylist():
            self.seen.setdefault(article_id, polled_at)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._scan()
            except Exception:
                self.errors += 1
            self._stop.wait(max(0.0, self.poll - (time.monotonic() - started)))
