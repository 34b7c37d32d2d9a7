"""The deduplication rule (jobs.dedup): by arrival time, per id, whatever the batches or the shards' lag."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jobs.dedup import Copy, KeptCopies

pytestmark = pytest.mark.unit
SECOND = 1_000_000
HORIZON = 10 * SECOND


class Table:
    """What enriched_articles holds: the kept copies, looked up as the job looks them up."""

    def __init__(self) -> None:
        self.rows: list[Copy] = []
        self.lookups: list[tuple[int, int | None, tuple[str, ...]]] = []

    def lookup(self, from_us: int, until_us: int | None, ids: Sequence[str]) -> Iterable[Copy]:
        self.lookups.append((from_us, until_us, tuple(ids)))
        return [
            row
            for row in self.rows
            if row.arrival_us >= from_us
            and (until_us is None or row.arrival_us < until_us)
            and (not ids or row.article_id in ids)
        ]


def run(batches: list[list[Copy]], table: Table | None = None, kept: KeptCopies | None = None) -> list[Copy]:
    """Feed ``batches`` through the rule as the job does; the rows the table holds afterwards."""
    table = Table() if table is None else table
    kept = KeptCopies(HORIZON) if kept is None else kept
    for batch in batches:
        dropped = kept.decide(batch, table.lookup).dropped
        table.rows.extend(copy for copy in batch if copy not in dropped)
    return table.rows


NAMES: dict[str, str] = {}  # article_id (a UUID, as the contract has it) -> the short name a test uses


def copy(name: str, seconds: float, shard: str = "s0", seq: int | None = None) -> Copy:
    article_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    NAMES[article_id] = name
    return Copy(int(seconds * SECOND), shard, str(seq if seq is not None else int(seconds * 1000)), article_id)


def names(copies: Iterable[Copy]) -> list[str]:
    return sorted(NAMES[c.article_id] for c in copies)


def test_a_retry_inside_the_horizon_is_dropped_even_batches_later() -> None:
    rows = run([[copy("a", 0), copy("b", 1)], [copy("c", 2)], [copy("a", 9)]])
    assert names(rows) == ["a", "b", "c"]


def test_a_copy_beyond_the_horizon_of_the_first_is_a_new_publication() -> None:
    rows = run([[copy("a", 0), copy("a", 6), copy("a", 11)]])
    assert [r.arrival_us // SECOND for r in rows] == [0, 11]


def test_a_lagging_shard_loses_nothing_and_its_retries_are_still_dropped() -> None:
    hot = [copy(f"h{n}", n * 0.01, "hot") for n in range(1000)] + [copy("h5", 9, "hot", seq=99_999)]
    cold = [copy(f"c{n}", 100 + n, "cold") for n in range(40)]
    batches = [hot[:100] + cold] + [hot[begin : begin + 100] for begin in range(100, len(hot), 100)]
    rows = run(batches)
    assert names(rows) == sorted({NAMES[c.article_id] for c in hot + cold})


def test_a_restart_finds_the_kept_copies_in_the_table_and_a_replayed_batch_keeps_its_own_rows() -> None:
    table = Table()
    run([[copy("a", 0), copy("b", 1)]], table)
    replay = [copy("a", 0), copy("b", 1)]
    decision = KeptCopies(HORIZON).decide(replay, table.lookup)
    assert decision.dropped == [] and decision.table_lookups == 1
    retry_after_restart = KeptCopies(HORIZON).decide([copy("a", 5, seq=777)], table.lookup)
    assert names(retry_after_restart.dropped) == ["a"]


def test_old_copies_are_evicted_and_asked_of_the_table_only_when_a_shard_needs_them() -> None:
    table, kept = Table(), KeptCopies(HORIZON)
    run([[copy(f"a{n}", n) for n in range(100)]], table, kept)
    assert len(kept) <= 11, "copies older than the horizon before the newest arrival are forgotten"
    assert len(table.lookups) == 1
    late = kept.decide([copy("a3", 4, "other", seq=5)], table.lookup)
    assert names(late.dropped) == ["a3"] and late.table_lookups == 1
    assert [NAMES[i] for i in table.lookups[-1][2]] == ["a3"]


@settings(max_examples=60, deadline=None)
@given(
    events=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 60), st.sampled_from(["s0", "s1"])), max_size=60),
    cuts=st.lists(st.integers(1, 8), min_size=1, max_size=20),
)
# Two copies arriving in the same millisecond, sequence numbers 9 and 10 (moto's are short counters):
# shard order is numeric, so the copy of record 9 is the one kept, however the batches are cut.
@example(events=[(0, 0, "s0")] * 9 + [(0, 11, "s0")] * 2, cuts=[1])
def test_the_table_does_not_depend_on_how_the_stream_is_batched(events: list, cuts: list[int]) -> None:
    """Each shard in arrival order; batches cut anywhere, shards read at different speeds: the same rows."""
    per_shard: dict[str, list[Copy]] = {"s0": [], "s1": []}
    for n, (article, seconds, shard) in enumerate(sorted(events, key=lambda e: e[1])):
        per_shard[shard].append(copy(f"id{article}", seconds, shard, seq=n))
    at_once = run([per_shard["s0"] + per_shard["s1"]])
    rng = random.Random(len(events))
    batches: list[list[Copy]] = []
    positions = {"s0": 0, "s1": 0}
    for cut in cuts * 10:
        batch = []
        for shard, records in per_shard.items():
            take = cut if shard == "s0" else rng.randint(0, cut)
            batch.extend(records[positions[shard] : positions[shard] + take])
            positions[shard] += take
        batches.append(batch)
    batches.append([c for shard, records in per_shard.items() for c in records[positions[shard] :]])
    piecewise = run(batches)
    # Copies of one id share a shard (partition key = article_id): then the kept rows are identical.
    same_shard = all(
        len({c.shard_id for c in at_once + piecewise if c.article_id == i}) == 1
        for i in {c.article_id for c in at_once}
    )
    if same_shard:
        assert sorted(piecewise) == sorted(at_once)
    assert {c.article_id for c in piecewise} == {c.article_id for c in at_once}
