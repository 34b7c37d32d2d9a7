"""The Kinesis source under injected faults, failures it must not retry, and KPL aggregates (moto_server)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from pipeline_testing import create_stream
from source_testing import drain, query_fails_with
from test_kinesis_source import put

from jobs.kinesis.positions import ShardEnd

pytestmark = pytest.mark.integration


def log_entries(checkpoint: Path) -> list[ShardEnd]:
    """Every entry of the position log under ``checkpoint/positions``."""
    entries = []
    for directory, _dirs, files in os.walk(checkpoint / "positions"):
        for name in files:
            if name.endswith(".json") and not name.startswith("."):
                entries.append(ShardEnd.from_json(json.loads((Path(directory) / name).read_text())))
    return entries


def test_faults_are_retried_and_every_record_read_once(
    spark: Any, moto_endpoint: str, kinesis: Any, names: dict, tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 2)
    expected = put(kinesis, names["stream"], 120)
    # Fault draws are seeded per (checkpoint run, batch, shard), and the run id is random, so the
    # rates are high enough that ~14 shard-batches of several calls each all but surely see each kind.
    faults = "throttle=0.3,server_error=0.1,expire_iterator=0.3,connection_error=0.05,seed=7"
    rows = drain(
        spark,
        moto_endpoint,
        names["stream"],
        tmp_path,
        maxRecordsPerShard="10",
        faultInjection=faults,
        retryDeadlineSeconds="60",
    )
    assert sorted(bytes(row["data"]).decode() for row in rows) == sorted(expected)
    entries = log_entries(tmp_path)
    retries, renewals = sum(e.retries for e in entries), sum(e.renewals for e in entries)
    print(f"faults: {len(entries)} shard-batches, {retries} retried calls, {renewals} iterator renewals")
    assert retries > 0 and renewals > 0, "the faults happened, were retried, and the log counts them"


def test_a_permanently_failing_client_fails_the_query_after_the_deadline(
    spark: Any, moto_endpoint: str, kinesis: Any, names: dict, tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 1)
    put(kinesis, names["stream"], 3)
    query_fails_with(
        spark,
        moto_endpoint,
        names["stream"],
        tmp_path,
        r"(?s)still failing after \d+ attempts.*retryDeadlineSeconds=2",
        faultInjection="server_error=1",
        retryDeadlineSeconds="2",
    )


def test_missing_permission_fails_at_once_with_what_to_grant(
    spark: Any, moto_endpoint: str, kinesis: Any, names: dict, tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 1)
    query_fails_with(
        spark,
        moto_endpoint,
        names["stream"],
        tmp_path,
        r"(?s)lack permission.*kinesis:GetRecords",
        faultInjection="access_denied=1",
        retryDeadlineSeconds="600",
    )


def test_a_deleted_stream_fails_with_what_to_do(
    spark: Any, moto_endpoint: str, kinesis: Any, names: dict, tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 1)
    put(kinesis, names["stream"], 3)
    assert len(drain(spark, moto_endpoint, names["stream"], tmp_path)) == 3
    kinesis.delete_stream(StreamName=names["stream"])
    query_fails_with(
        spark,
        moto_endpoint,
        names["stream"],
        tmp_path,
        r"(?s)does not exist.*KINESIS_STREAM_NAME",
        retryDeadlineSeconds="600",
    )


def put_aggregates(kinesis: Any, stream: str, aggregates: int, per_aggregate: int) -> list[str]:
    """Put KPL aggregated records (one partition key per aggregate); return the user payloads in order."""
    payloads = []
    for a in range(aggregates):
        aggregator = RecordAggregator()
        for u in range(per_aggregate):
            payload = json.dumps({"agg": a, "user": u})
            aggregator.add_user_record(f"user-key-{a}-{u}", payload.encode())
            payloads.append(payload)
        key, _hash, data = aggregator.clear_and_get().get_contents()
        kinesis.put_record(StreamName=stream, Data=data, PartitionKey=key)
    return payloads


def test_kpl_aggregates_split_across_batches_replay_exactly(
    spark: Any, moto_endpoint: str, kinesis: Any, names: dict, tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 1)
    expected = put_aggregates(kinesis, names["stream"], aggregates=3, per_aggregate=7)
    kinesis.put_record(StreamName=names["stream"], Data=b'{"plain": 1}', PartitionKey="plain")
    # 5 user records per batch: boundaries fall inside the 7-record aggregates.
    first = drain(spark, moto_endpoint, names["stream"], tmp_path, maxRecordsPerShard="5")
    assert [bytes(r["data"]).decode() for r in first] == [*expected, '{"plain": 1}'], "in order, each once"
    assert [r["sub_sequence_number"] for r in first] == [u for _ in range(3) for u in range(7)] + [None]
    assert first[8]["partition_key"] == "user-key-1-1", "user records keep their own partition keys"
    assert len({r["batch"] for r in first}) >= 5

    # Crash state: a batch whose end lies inside an aggregate ran (and logged its end) but was never committed;
    # the batches after it were never planned nor read.
    spark_dir = tmp_path / "spark"
    replayed = next(
        b
        for b in sorted({r["batch"] for r in first})
        if [r["sub_sequence_number"] for r in first if r["batch"] == b][-1] not in (None, 6)
    )
    for log, first_removed in (("offsets", replayed + 1), ("commits", replayed)):
        for name in os.listdir(spark_dir / log):
            if (
                name.strip(".").removesuffix(".crc").isdigit()
                and int(name.strip(".").removesuffix(".crc")) >= first_removed
            ):
                (spark_dir / log / name).unlink()
    for run in (tmp_path / "positions").iterdir():
        for batch_dir in run.iterdir():
            if int(batch_dir.name) > replayed + 1:  # the source's batch n+1 is Spark's batch n
                shutil.rmtree(batch_dir)
    more = put_aggregates(kinesis, names["stream"], aggregates=1, per_aggregate=4)
    second = drain(spark, moto_endpoint, names["stream"], tmp_path, maxRecordsPerShard="5")
    original = [(r["sequence_number"], r["sub_sequence_number"]) for r in first if r["batch"] == replayed]
    replay = [(r["sequence_number"], r["sub_sequence_number"]) for r in second if r["batch"] == replayed]
    assert replay == original, "the replayed batch stops at the same sub-record"
    redelivered = [bytes(r["data"]).decode() for r in first if r["batch"] < replayed] + [
        bytes(r["data"]).decode() for r in second
    ]
    assert redelivered == [*expected, '{"plain": 1}', *more]
