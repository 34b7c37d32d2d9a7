"""When each row first showed in a Delta table (``enriched_articles``, ``author_stats``): what a reader sees."""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.emulator import Emulator
from common.contract import AUTHOR_STATS, ENRICHED_ARTICLES

# The columns that name a row of each table (an article; an author's window).
ROW_KEYS = {ENRICHED_ARTICLES: ("article_id",), AUTHOR_STATS: ("window_end", "author")}


class Visibility:
    """Polls a Delta table (its log, via deltalake) and records when each row (its ``ROW_KEYS``) first
    appears in a committed version: what a reader of the table sees. Keys of one column are its
    values; of several, tuples."""

    def __init__(self, emulator: Emulator, bucket: str, poll: float, table: str = ENRICHED_ARTICLES) -> None:
        self.aws = emulator.aws
        self.bucket = bucket
        self.poll = poll
        self.table = table
        self.seen: dict[Any, float] = {}
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
            self._table = open_table(self.aws, self.bucket, self.table)
            if self._table is None:
                return
        else:
            self._table.update_incremental()
        if self._table.version() == self._version:
            return
        self._version = self._table.version()
        columns = self._table.to_pyarrow_table(columns=list(ROW_KEYS[self.table])).columns
        keys = columns[0].to_pylist() if len(columns) == 1 else zip(*(c.to_pylist() for c in columns), strict=True)
        for key in keys:
            self.seen.setdefault(key, polled_at)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._scan()
            except Exception:
                self.errors += 1
            self._stop.wait(max(0.0, self.poll - (time.monotonic() - started)))
