"""Enhanced fan-out (SubscribeToShard) against kinesis-local: exactly once, resharding, two consumers, deregistration.

kinesis-local pushes one event a second and refuses a new subscription to a shard for ~3 s after
the previous one closed, so every read here costs seconds: the streams stay small.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from pipeline_testing import REPO, create_stream, wait_until
from source_testing import Delivered, put, source_frame

from common.aws import wait_for_stream_active
from jobs.kinesis.positions import ShardEnd

pytestmark = pytest.mark.integration


def consumers(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    return list(kinesis.list_stream_consumers(StreamARN=arn)["Consumers"])


def log_entries(checkpoint: Path) -> list[ShardEnd]:
    """Every (batch, shard) end in the position log under ``checkpoint/positions``."""
    return [ShardEnd.from_json(json.loads(p.read_text())) for p in (checkpoint / "positions").glob("*/*/*.json")]


def start_drain(spark: Any, endpoint: str, stream: str, checkpoint: Path, rows: list[str], **options: str) -> Any:
    """An available-now query appending each delivered payload to ``rows``."""

    def collect(frame: Any, _batch: int) -> None:
        rows.extend(bytes(r["data"]).decode() for r in frame.collect())

    return (
        source_frame(spark, endpoint, stream, checkpoint, **options)
        .writeStream.foreachBatch(collect)
        .option("checkpointLocation", str(checkpoint / "spark"))
        .trigger(availableNow=True)
        .start()
    )


def finish(query: Any) -> None:
    query.awaitTermination(240)
    assert not query.isActive, "Trigger.AvailableNow must drain the stream and stop"
    assert query.exception() is None, query.exception()


def test_fan_out_reads_every_record_once_and_a_restart_reuses_the_consumer(
    spark: Any, kinesis_local_endpoint: str, kinesis_local: Any, names: dict, tmp_path: Path
) -> None:
    kinesis, stream = kinesis_local, names["stream"]
    create_stream(kinesis, stream, 2)
    expected = put(kinesis, stream, range(120))
    rows: list[str] = []
    finish(
        start_drain(spark, kinesis_local_endpoint, stream, tmp_path, rows, maxRecordsPerShard="25", consumerName="efo")
    )
    assert sorted(rows) == sorted(expected), "every record once"
    entries = [e for e in log_entries(tmp_path) if e.records]
    assert len(entries) >= 4, "several batches per shard"
    assert all(e.subscribe_calls >= 1 and e.get_records_calls == 0 for e in entries), "read through subscriptions"
    registered = consumers(kinesis, stream)
    assert [(c["ConsumerName"], c["ConsumerStatus"]) for c in registered] == [("efo", "ACTIVE")]

    more = put(kinesis, stream, range(1000, 1030))
    again: list[str] = []
    finish(
        start_drain(spark, kinesis_local_endpoint, stream, tmp_path, again, maxRecordsPerShard="25", consumerName="efo")
    )
    assert sorted(again) == sorted(more), "the restart resumes where the checkpoint stands"
    assert consumers(kinesis, stream) == registered, "the same consumer, not a new one"


def test_two_consumers_on_one_stream_each_read_every_record(
    spark: Any, kinesis_local_endpoint: str, kinesis_local: Any, names: dict, tmp_path: Path
) -> None:
    kinesis, stream = kinesis_local, names["stream"]
    create_stream(kinesis, stream, 2)
    expected = put(kinesis, stream, range(80))
    seen: dict[str, list[str]] = {"one": [], "two": []}
    queries = [
        start_drain(spark, kinesis_local_endpoint, stream, tmp_path / name, rows, consumerName=f"reader-{name}")
        for name, rows in seen.items()
    ]
    for query in queries:
        finish(query)
    assert sorted(seen["one"]) == sorted(expected) and sorted(seen["two"]) == sorted(expected)
    assert sorted(c["ConsumerName"] for c in consumers(kinesis, stream)) == ["reader-one", "reader-two"]


def test_a_shard_split_while_subscribed_loses_and_repeats_nothing(
    spark: Any, kinesis_local_endpoint: str, kinesis_local: Any, names: dict, tmp_path: Path
) -> None:
    kinesis, stream = kinesis_local, names["stream"]
    create_stream(kinesis, stream, 1)
    delivered = Delivered()

    query = (
        source_frame(spark, kinesis_local_endpoint, stream, tmp_path, maxRecordsPerShard="15", consumerName="splitter")
        .writeStream.foreachBatch(delivered.collect)
        .option("checkpointLocation", str(tmp_path / "spark"))
        .trigger(processingTime="1 second")
        .start()
    )
    published: list[str] = []
    try:
        published += put(kinesis, stream, range(60))
        wait_until(lambda: len(delivered) >= 15 or query.exception(), 90, "the first reads", interval=0.2)
        parent = kinesis.list_shards(StreamName=stream)["Shards"][0]
        low, high = int(parent["HashKeyRange"]["StartingHashKey"]), int(parent["HashKeyRange"]["EndingHashKey"])
        kinesis.split_shard(
            StreamName=stream, ShardToSplit=parent["ShardId"], NewStartingHashKey=str((low + high) // 2)
        )
        wait_for_stream_active(kinesis, stream, 30, poll_seconds=0.1)
        published += put(kinesis, stream, range(100, 160))
        wait_until(
            lambda: len(delivered) >= len(published) or query.exception(), 180, "every record delivered", interval=0.2
        )
        settle = time.monotonic() + 4  # a few more batches: nothing may arrive twice
        wait_until(lambda: time.monotonic() > settle, 10, "settling")
    finally:
        query.stop()
    assert query.exception() is None, query.exception()
    payloads = [bytes(r["data"]).decode() for r in delivered]
    assert len(payloads) == len(set(payloads)), "no record repeated"
    assert sorted(payloads) == sorted(published), "no record lost"
    assert len({r["shard_id"] for r in delivered}) == 3, "the parent and both children were read"
    by_key: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for row in delivered:
        body = json.loads(bytes(row["data"]))
        by_key[body["key"]].append((row["batch"], int(row["sequence_number"]), body["n"]))
    for key, rows in by_key.items():
        numbers = [n for _batch, _seq, n in sorted(rows)]
        assert numbers == sorted(numbers), f"{key} out of order across parent and child: {numbers}"
    ends = log_entries(tmp_path)
    assert any(e.closed for e in ends), "the parent was read to its end"
    assert any(e.subscribe_calls and e.records for e in ends), "open shards were read through subscriptions"


def deregister(endpoint: str, stream: str, consumer: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "KINESIS_STREAM_NAME": stream,
        "KINESIS_CONSUMER_NAME": consumer,
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [sys.executable, "-m", "jobs.kinesis.consumer", "deregister"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deregister_removes_the_consumer_and_finds_nothing_the_second_time(
    kinesis_local_endpoint: str, kinesis_local: Any, names: dict
) -> None:
    from jobs.kinesis.consumer import ensure_consumer

    kinesis, stream = kinesis_local, names["stream"]
    create_stream(kinesis, stream, 1)
    ensure_consumer(kinesis, stream, "to-remove", 30)
    assert [c["ConsumerName"] for c in consumers(kinesis, stream)] == ["to-remove"]
    first = deregister(kinesis_local_endpoint, stream, "to-remove")
    assert first.returncode == 0 and "kinesis_consumer_deregistered" in first.stderr + first.stdout, first.stderr
    wait_until(lambda: not consumers(kinesis, stream), 30, "the consumer to be gone")
    second = deregister(kinesis_local_endpoint, stream, "to-remove")
    assert second.returncode == 0 and "kinesis_consumer_absent" in second.stderr + second.stdout, second.stderr
