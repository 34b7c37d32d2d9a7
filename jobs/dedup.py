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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Copy:
    """One valid record of an article: its Kinesis arrival (microseconds) and where it was read.

    Copies sort in stream order: by arrival, then shard, then place in the shard (sequence
    numbers compared as integers: "9" comes before "10").
    """

    arrival_us: int
    shard_id: str
    sequence_number: str
    article_id: str = field(compare=False)

    def __lt__(self, other: Copy) -> bool:
        return (self.arrival_us, self.shard_id, int(self.sequence_number)) < (
            other.arrival_us,
            other.shard_id,
            int(other.sequence_number),
        )

    @property
    def record(self) -> int:
        """The Kinesis record it came from (a hash of shard and sequence number, stable within a process):
        the same record read again is never its own duplicate."""
        return hash((self.shard_id, self.sequence_number))

    @property
    def key(self) -> bytes:
        """The article_id (a UUID) as 16 bytes."""
        return bytes.fromhex(self.article_id.replace("-", ""))


# (lower bound inclusive, upper bound exclusive or None, article_ids) -> kept copies in the table
TableLookup = Callable[[int, "int | None", Sequence[str]], Iterable[Copy]]


@dataclass
class Decision:
    """What one batch drops, and how many times the table was read to decide."""

    dropped: list[Copy]
    table_lookups: int


def _empty(dtype: str) -> Any:
    return np.empty(0, dtype=dtype)


@dataclass
class KeptCopies:
    """Kept copies: every kept copy with ``arrival_us >= covered_from_us`` is cached.

    The cache is three aligned numpy arrays sorted by article_id (16-byte keys, arrival, record):
    32 bytes per copy, searched a batch at a time. ``covered_from_us`` is None until the first batch
    loads the table's recent copies.
    """

    horizon_us: int
    covered_from_us: int | None = None
    _keys: Any = field(default_factory=lambda: _empty("S16"))
    _arrivals: Any = field(default_factory=lambda: _empty("int64"))
    _records: Any = field(default_factory=lambda: _empty("int64"))

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def nbytes(self) -> int:
        """Memory the cache's arrays hold."""
        return int(self._keys.nbytes + self._arrivals.nbytes + self._records.nbytes)

    def _insert(self, copies: Sequence[Copy]) -> None:
        if not copies:
            return
        keys = np.array([copy.key for copy in copies], dtype="S16")
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        arrivals = np.array([copies[i].arrival_us for i in order], dtype="int64")
        records = np.array([copies[i].record for i in order], dtype="int64")
        at = np.searchsorted(self._keys, keys)
        self._keys = np.insert(self._keys, at, keys)
        self._arrivals = np.insert(self._arrivals, at, arrivals)
        self._records = np.insert(self._records, at, records)

    def _cached(self, copies: Sequence[Copy]) -> list[list[tuple[int, int]]]:
        """For each copy, the (arrival, record) of the cached copies of its id."""
        keys = np.array([copy.key for copy in copies], dtype="S16")
        first = np.searchsorted(self._keys, keys, side="left")
        last = np.searchsorted(self._keys, keys, side="right")
        found: list[list[tuple[int, int]]] = [[] for _ in copies]
        for index in np.nonzero(last > first)[0]:
            span = slice(first[index], last[index])
            found[index] = list(zip(self._arrivals[span].tolist(), self._records[span].tolist(), strict=True))
        return found

    def _load(self, lookup: TableLookup, batch: Sequence[Copy]) -> int:
        """Fill the cache from the table where it does not reach back far enough for ``batch``; lookups made."""
        needed_from = batch[0].arrival_us - self.horizon_us
        if self.covered_from_us is None:
            self._insert(self._unknown(lookup(needed_from, None, ())))
            self.covered_from_us = needed_from
            return 1
        if needed_from >= self.covered_from_us:
            return 0
        # A shard read far behind the others: ask the table about this batch's ids only.
        ids = sorted({copy.article_id for copy in batch if copy.arrival_us - self.horizon_us < self.covered_from_us})
        self._insert(self._unknown(lookup(needed_from, self.covered_from_us, ids)))
        return 1

    def _unknown(self, copies: Iterable[Copy]) -> list[Copy]:
        """``copies`` not cached yet (a lookup may return copies the cache holds)."""
        candidates = list(copies)
        if not candidates:
            return []
        cached = self._cached(candidates)
        return [
            copy for copy, known in zip(candidates, cached, strict=True) if (copy.arrival_us, copy.record) not in known
        ]

    def decide(self, batch: Iterable[Copy], lookup: TableLookup) -> Decision:
        """Drop the copies the rule drops; remember the kept ones (call once per batch, in batch order)."""
        ordered = sorted(batch)
        if not ordered:
            return Decision([], 0)
        lookups = self._load(lookup, ordered)
        kept_now: dict[str, list[tuple[int, int]]] = {}
        kept: list[Copy] = []
        dropped: list[Copy] = []
        for copy, cached in zip(ordered, self._cached(ordered), strict=True):  # by arrival: first copies first
            record = copy.record
            known = cached + kept_now.get(copy.article_id, [])
            if any(other != record and abs(copy.arrival_us - arrival) <= self.horizon_us for arrival, other in known):
                dropped.append(copy)
            elif (copy.arrival_us, record) not in known:
                kept_now.setdefault(copy.article_id, []).append((copy.arrival_us, record))
                kept.append(copy)
        self._insert(kept)
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
        recent = self._arrivals >= keep_from
        if not recent.all():
            self._keys, self._arrivals, self._records = (
                self._keys[recent],
                self._arrivals[recent],
                self._records[recent],
            )
        self.covered_from_us = keep_from
