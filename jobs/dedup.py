"""Republished article_ids dropped by arrival time, never by a watermark.

The rule (docs/exactly-once.md): a copy of an ``article_id`` whose Kinesis arrival is within
``DEDUP_WINDOW`` of a kept copy of that id is dropped; every other copy is kept (a copy republished
later than the window is a new publication). The decision depends only on arrival times, so
reading the stream slowly, all at once, or with one shard far behind another gives the same table.

``enriched_articles`` is the memory of kept copies: ``KeptCopies`` caches its recent ids in the
driver and asks the table (``TableLookup``) for whatever the cache does not cover, so a restart,
a lagging shard or an evicted entry never lets a duplicate through, and no state outlives the table.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True, slots=True)
class Copy:
    """One valid record of an article: its Kinesis arrival (microseconds) and where it was read."""

    arrival_us: int
    shard_id: str
    sequence_number: str
    article_id: str = field(compare=False)

    @property
    def record(self) -> tuple[str, str]:
        """The Kinesis record it came from: the same record read again is never its own duplicate."""
        return self.shard_id, self.sequence_number


# (lower bound inclusive, upper bound exclusive or None, article_ids) -> kept copies in the table
TableLookup = Callable[[int, "int | None", Sequence[str]], Iterable[Copy]]


@dataclass
class Decision:
    """What one batch keeps and drops, and whether the table was read to decide."""

    dropped: list[Copy]
    table_lookups: int


@dataclass
class KeptCopies:
    """Kept copies by article_id: every kept copy with ``arrival_us >= covered_from_us`` is in ``by_id``.

    ``covered_from_us`` is None until the first batch loads the table's recent copies.
    """

    horizon_us: int
    by_id: dict[str, list[Copy]] = field(default_factory=dict)
    covered_from_us: int | None = None
    _by_arrival: list[Copy] = field(default_factory=list)  # a heap: the oldest copy first, for eviction

    def __len__(self) -> int:
        return len(self._by_arrival)

    def _add(self, copy: Copy) -> None:
        copies = self.by_id.setdefault(copy.article_id, [])
        if all(known.record != copy.record for known in copies):
            bisect.insort(copies, copy)
            heapq.heappush(self._by_arrival, copy)

    def _is_duplicate(self, copy: Copy) -> bool:
        """A kept copy of the id, from another record, arrived within the horizon of this one."""
        return any(
            known.record != copy.record and abs(copy.arrival_us - known.arrival_us) <= self.horizon_us
            for known in self.by_id.get(copy.article_id, ())
        )

    def _load(self, lookup: TableLookup, batch: Sequence[Copy]) -> int:
        """Fill the cache from the table where it does not reach back far enough for ``batch``; lookups made."""
        needed_from = batch[0].arrival_us - self.horizon_us
        if self.covered_from_us is None:
            for copy in lookup(needed_from, None, ()):
                self._add(copy)
            self.covered_from_us = needed_from
            return 1
        if needed_from >= self.covered_from_us:
            return 0
        # A shard read far behind the others: ask the table about this batch's ids only.
        ids = sorted({copy.article_id for copy in batch if copy.arrival_us - self.horizon_us < self.covered_from_us})
        for copy in lookup(needed_from, self.covered_from_us, ids):
            self._add(copy)
        return 1

    def decide(self, batch: Iterable[Copy], lookup: TableLookup) -> Decision:
        """Drop the copies the rule drops; remember the kept ones (call once per batch, in batch order)."""
        ordered = sorted(batch)
        if not ordered:
            return Decision([], 0)
        lookups = self._load(lookup, ordered)
        dropped = []
        for copy in ordered:  # by arrival: the first copy of an id is kept, its retries dropped
            if self._is_duplicate(copy):
                dropped.append(copy)
            else:
                self._add(copy)
        self._evict(ordered)
        return Decision(dropped, lookups)

    def _evict(self, batch: Sequence[Copy]) -> None:
        """Forget copies no shard can still need: older than the horizon before every shard's newest arrival read.

        A shard absent from the batch had nothing more to read, so its next records arrive later still.
        """
        newest_per_shard: dict[str, int] = {}
        for copy in batch:
            newest_per_shard[copy.shard_id] = max(copy.arrival_us, newest_per_shard.get(copy.shard_id, copy.arrival_us))
        keep_from = min(newest_per_shard.values()) - self.horizon_us
        if self.covered_from_us is not None and keep_from <= self.covered_from_us:
            return
        while self._by_arrival and self._by_arrival[0].arrival_us < keep_from:
            oldest = heapq.heappop(self._by_arrival)
            copies = self.by_id[oldest.article_id]
            copies.remove(oldest)
            if not copies:
                del self.by_id[oldest.article_id]
        self.covered_from_us = keep_from
