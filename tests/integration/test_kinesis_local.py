"""The Kinesis source against kinesis-local (and moto): resharding while data flows, expiry, exact reads.

kinesis-local manages a few hundred records per second: these tests stay small.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from pipeline_testing import create_stream, wait_until
from source_testing import Delivered, drain, put, source_frame

from common.aws import wait_for_stream_active

pytestmark = pytest.mark.integration


def test_reads_every_record_once_across_shards_and_batches(
    spark: Any, emulator: tuple[str, Any], names: dict, tmp_path: Path
) -> None:
    endpoint, kinesis = emulator
    create_stream(kinesis, names["stream"], 3)
    expected = put(kinesis, names["stream"], range(150))
    rows = drain(spark, endpoint, names["stream"], tmp_path, maxRecordsPerShard="20")
    assert sorted(bytes(r["data"]).decode() for r in rows) == sorted(expected)
    assert len({r["batch"] for r in rows}) >= 3 and len({r["shard_id"] for r in rows}) == 3
    more = put(kinesis, names["stream"], range(1000, 1020))
    again = drain(spark, endpoint, names["stream"], tmp_path, maxRecordsPerShard="20")
    assert sorted(bytes(r["data"]).decode() for r in again) == sorted(more)


def test_expired_iterators_are_renewed_without_loss_or_repeat(
    spark: Any, kinesis_local_endpoint: str, kinesis_local: Any, names: dict, tmp_path: Path
) -> None:
    # kinesis-mock expires iterators after a fixed 300 s (not configurable), so expiry is injected.
    create_stream(kinesis_local, names["stream"], 2)
    expected = put(kinesis_local, names["stream"], range(120))
    rows = drain(
        spark,
        kinesis_local_endpoint,
        names["stream"],
        tmp_path,
        maxRecordsPerShard="15",
        faultInjection="expire_iterator=0.4,seed=3",
    )
    assert sorted(bytes(r["data"]).decode() for r in rows) == sorted(expected)


def adjacent_open_pair(kinesis: Any, stream: str) -> tuple[str, str]:
    shards = [
        s
        for s in kinesis.list_shards(StreamName=stream)["Shards"]
        if "EndingSequenceNumber" not in s["SequenceNumberRange"]
    ]
    shards.sort(key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))
    for left, right in itertools.pairwise(shards):
        if int(left["HashKeyRange"]["EndingHashKey"]) + 1 == int(right["HashKeyRange"]["StartingHashKey"]):
            return left["ShardId"], right["ShardId"]
    raise AssertionError("no adjacent open shards")


def test_resharding_while_data_flows_loses_and_repeats_nothing(
    spark: Any, kinesis_local_endpoint: str, kinesis_local: Any, names: dict, tmp_path: Path
) -> None:
    kinesis, stream = kinesis_local, names["stream"]
    create_stream(kinesis, stream, 2)
    delivered = Delivered()

    query = (
        source_frame(spark, kinesis_local_endpoint, stream, tmp_path, maxRecordsPerShard="25")
        .writeStream.foreachBatch(delivered.collect)
        .option("checkpointLocation", str(tmp_path / "spark"))
        .trigger(processingTime="500 milliseconds")
        .start()
    )
    published: list[str] = []
    reshards: list[str] = []
    try:

        def flow(step: int) -> None:
            published.extend(put(kinesis, stream, range(step * 40, step * 40 + 40)))
            # Let the query read some of it before the next reshard.
            wait_until(
                lambda: len(delivered) >= len(published) - 20 or query.exception(),
                60,
                "the query to follow the publisher",
                interval=0.1,
            )

        flow(0)
        first = kinesis.list_shards(StreamName=stream)["Shards"][0]
        low, high = int(first["HashKeyRange"]["StartingHashKey"]), int(first["HashKeyRange"]["EndingHashKey"])
        kinesis.split_shard(StreamName=stream, ShardToSplit=first["ShardId"], NewStartingHashKey=str((low + high) // 2))
        wait_for_stream_active(kinesis, stream, 30, poll_seconds=0.1)
        reshards.append("split")
        flow(1)
        left, right = adjacent_open_pair(kinesis, stream)
        kinesis.merge_shards(StreamName=stream, ShardToMerge=left, AdjacentShardToMerge=right)
        wait_for_stream_active(kinesis, stream, 30, poll_seconds=0.1)
        reshards.append("merge")
        flow(2)
        kinesis.update_shard_count(StreamName=stream, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
        wait_for_stream_active(kinesis, stream, 30, poll_seconds=0.1)
        reshards.append("update_shard_count 4")
        flow(3)
        kinesis.update_shard_count(StreamName=stream, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        wait_for_stream_active(kinesis, stream, 30, poll_seconds=0.1)
        reshards.append("update_shard_count 2")
        flow(4)
        flow(5)
        wait_until(
            lambda: len(delivered) >= len(published) or query.exception(), 120, "every record delivered", interval=0.2
        )
        settle = time.monotonic() + 3  # a few more (empty) batches: nothing may arrive twice
        wait_until(lambda: time.monotonic() > settle, 10, "settling")
    finally:
        query.stop()
    assert query.exception() is None, query.exception()
    payloads = [bytes(r["data"]).decode() for r in delivered]
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    print(
        f"reshard: {reshards}; {len(published)} published, {len(payloads)} delivered, "
        f"{len(set(payloads))} distinct, {len(shards)} shards listed, "
        f"{len({r['shard_id'] for r in delivered})} shards read, {len({r['batch'] for r in delivered})} batches"
    )
    assert len(payloads) == len(set(payloads)), "no record repeated"
    assert sorted(payloads) == sorted(published), "no record lost"
    # Per partition key, records arrive in publish order, across parent -> child shards.
    by_key: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for row in delivered:
        body = json.loads(bytes(row["data"]))
        by_key[body["key"]].append((row["batch"], int(row["sequence_number"]), body["n"]))
    for key, rows in by_key.items():
        rows.sort()
        numbers = [n for _batch, _seq, n in rows]
        assert numbers == sorted(numbers), f"{key} out of order: {numbers}"
    assert len({r["shard_id"] for r in delivered}) >= 6, "parents and children were all read"
