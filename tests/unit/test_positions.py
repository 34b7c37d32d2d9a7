"""Position and planning logic of the Kinesis source, without Spark or Kinesis (milliseconds)."""

from dataclasses import replace

import pytest

from jobs.kinesis.planner import reached_tip
from jobs.kinesis.positions import (
    PositionLogMismatch,
    ShardEnd,
    ShardInfo,
    SourceOffset,
    is_consumed,
    iterator_request,
    new_offset,
    per_shard_bytes,
    per_shard_limit,
    plan_next_offset,
    position_after,
    sequence_key,
)

pytestmark = pytest.mark.unit
TRIM = {"type": "TRIM_HORIZON"}


def test_sequence_numbers_compare_as_integers_not_strings() -> None:
    assert sequence_key("9") < sequence_key("10")
    aws_like = "49590338271490256608559692538361571095921575989136588898"
    assert sequence_key(aws_like) < sequence_key(str(int(aws_like) + 1))
    assert is_consumed(position_after("10"), "9", None)
    assert not is_consumed(position_after("9"), "10", None)


def test_sub_sequence_positions_split_an_aggregate_exactly() -> None:
    inside = position_after("100", 2)
    assert is_consumed(inside, "100", 2) and is_consumed(inside, "100", 0)
    assert not is_consumed(inside, "100", 3)
    assert iterator_request(inside) == {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "100"}
    assert iterator_request(position_after("100")) == {
        "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
        "StartingSequenceNumber": "100",
    }


def test_first_plan_reads_root_shards_from_the_initial_position() -> None:
    start = new_offset(TRIM, 100)
    listed = [ShardInfo("s0"), ShardInfo("s1"), ShardInfo("s2", parent="s0")]
    planned = plan_next_offset(start, {}, listed, 100)
    assert planned.batch == 1 and planned.run == start.run
    assert planned.shards == {"s0": TRIM, "s1": TRIM}, "a child waits for its parent"


def test_next_batch_starts_where_the_log_says_the_last_one_stopped() -> None:
    start = replace(new_offset(TRIM, 100), batch=4, shards={"s0": TRIM, "s1": position_after("7")})
    ends = {"s0": ShardEnd(position_after("3"), 3, False, 0), "s1": ShardEnd(position_after("7"), 0, False, 0)}
    planned = plan_next_offset(start, ends, [ShardInfo("s0"), ShardInfo("s1")], 50)
    assert planned.batch == 5 and planned.limit == 50
    assert planned.shards == {"s0": position_after("3"), "s1": position_after("7")}


def test_children_are_read_only_after_both_parents_finish() -> None:
    listed = [ShardInfo("p0"), ShardInfo("p1"), ShardInfo("c", parent="p0", adjacent_parent="p1")]
    start = replace(new_offset(TRIM, 10), batch=1, shards={"p0": TRIM, "p1": TRIM})
    one_closed = {"p0": ShardEnd(position_after("5"), 5, True), "p1": ShardEnd(position_after("6"), 6, False)}
    planned = plan_next_offset(start, one_closed, listed, 10)
    assert planned.shards == {"p1": position_after("6")} and planned.done == ("p0",)
    both_closed = {"p1": ShardEnd(position_after("9"), 3, True)}
    planned = plan_next_offset(planned, both_closed, listed, 10)
    assert planned.shards == {"c": TRIM} and planned.done == ("p0", "p1")


def test_finished_shards_are_forgotten_once_kinesis_stops_listing_them() -> None:
    start = replace(new_offset(TRIM, 10), batch=3, done=("old",), shards={"s": TRIM})
    planned = plan_next_offset(start, {"s": ShardEnd(TRIM, 0, False, 0)}, [ShardInfo("s")], 10)
    assert planned.done == ()


def test_a_child_whose_parent_expired_is_read() -> None:
    start = replace(new_offset(TRIM, 10), batch=2, shards={})
    planned = plan_next_offset(start, {}, [ShardInfo("c", parent="gone")], 10)
    assert planned.shards == {"c": TRIM}


def test_missing_log_entry_is_reported_not_guessed() -> None:
    start = replace(new_offset(TRIM, 10), batch=7, shards={"s0": TRIM, "s1": TRIM})
    with pytest.raises(PositionLogMismatch, match=r"batch 7 of shard.*s1"):
        plan_next_offset(start, {"s0": ShardEnd(TRIM, 0, False)}, [ShardInfo("s0"), ShardInfo("s1")], 10)


def test_byte_limit_is_spread_over_shards() -> None:
    assert per_shard_bytes(None, 4) is None
    assert per_shard_bytes(1_000_000, 4) == 250_000
    assert per_shard_bytes(10, 4) == 3
    assert per_shard_bytes(5, 0) == 5


def test_byte_limit_travels_in_the_offset_and_old_offsets_have_none() -> None:
    start = replace(new_offset(TRIM, 10), batch=1, shards={"s0": TRIM})
    planned = plan_next_offset(start, {"s0": ShardEnd(TRIM, 0, False)}, [ShardInfo("s0")], 10, 4096)
    assert SourceOffset.from_json(planned.to_json()).byte_limit == 4096
    old = {key: value for key, value in planned.to_json().items() if key != "byte_limit"}
    assert SourceOffset.from_json(old).byte_limit is None
    end = ShardEnd(TRIM, 3, False, 0, bytes=120)
    assert ShardEnd.from_json(end.to_json()) == end
    assert ShardEnd.from_json({k: v for k, v in end.to_json().items() if k != "bytes"}).bytes == 0


def test_read_limit_is_spread_over_shards() -> None:
    assert per_shard_limit(None, 4, 10_000) == 10_000
    assert per_shard_limit(1_000, 4, 10_000) == 250
    assert per_shard_limit(10, 4, 10_000) == 3
    assert per_shard_limit(10**9, 4, 10_000) == 10_000


def test_a_read_stopped_by_a_limit_has_not_reached_the_tip() -> None:
    """Under Trigger.AvailableNow the query ends only when a batch reached every shard's tip."""
    batch = replace(new_offset(TRIM, 100), byte_limit=1000)
    assert reached_tip(ShardEnd(TRIM, 5, False, 0, bytes=999), batch)
    assert not reached_tip(ShardEnd(TRIM, 5, False, 0, bytes=1000), batch), "stopped by the byte limit"
    assert not reached_tip(ShardEnd(TRIM, 100, False, 0, bytes=10), batch), "stopped by the record limit"
    assert not reached_tip(ShardEnd(TRIM, 5, False, 800, bytes=10), batch), "behind the tip"
    assert reached_tip(ShardEnd(TRIM, 5, False, 0, bytes=10**9), replace(batch, byte_limit=None))
