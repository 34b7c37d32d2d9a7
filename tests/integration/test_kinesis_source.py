"""The Kinesis source against moto_server: exactly what was put, across shards and batches, replayable."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from pipeline_testing import create_stream, wait_until
from source_testing import drain, query_fails_with

from jobs.kinesis.position_log import LocalPositionLog, S3PositionLog
from jobs.kinesis.positions import ShardEnd, position_after

pytestmark = pytest.mark.integration


def put(kinesis: Any, stream: str, count: int, start: int = 0) -> list[str]:
    records = [{"Data": json.dumps({"n": n}).encode(), "PartitionKey": f"key-{n}"} for n in range(start, start + count)]
    for begin in range(0, len(records), 500):
        assert kinesis.put_records(StreamName=stream, Records=records[begin : begin + 500])["FailedRecordCount"] == 0
    return [json.dumps({"n": n}) for n in range(start, start + count)]


def test_reads_every_record_once_across_shards_and_batches(
    spark: Any, moto_endpoint: str, kinesis: Any, names: dict, tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 3)
    expected = put(kinesis, names["stream"], 240)
    rows = drain(spark, moto_endpoint, names["stream"], tmp_path, maxRecordsPerShard="30")
    payloads = [bytes(row["data"]).decode() for row in rows]
    assert sorted(payloads) == sorted(expected)
    assert len({row["batch"] for row in rows}) >= 3, "the per-shard limit splits the stream into several batches"
    assert {row["shard_id"] for row in rows} == {
        s["ShardId"] for s in kinesis.list_shards(StreamName=names["stream"])["Shards"]
    }
    for shard in {row["shard_id"] for row in rows}:
        sequence = [int(row["sequence_number"]) for row in rows if row["shard_id"] == shard]
        assert sequence == sorted(sequence), "each shard is delivered in sequence order"
    # More data later: a restart from the checkpoint reads only the new records.
    more = put(kinesis, names["stream"], 25, start=1_000)
    again = drain(spark, moto_endpoint, names["stream"], tmp_path, maxRecordsPerShard="30")
    assert sorted(bytes(row["data"]).decode() for row in again) == sorted(more)


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_a_replayed_batch_returns_exactly_the_same_records(
    backend: str, spark: Any, moto_endpoint: str, kinesis: Any, s3: Any, names: dict, tmp_path: Path
) -> None:
    options = {"maxRecordsPerShard": "20"}
    if backend == "s3":
        s3.create_bucket(Bucket=names["bucket"])
        options["positionLog"] = f"s3://{names['bucket']}/positions"
    create_stream(kinesis, names["stream"], 2)
    put(kinesis, names["stream"], 60)
    first = drain(spark, moto_endpoint, names["stream"], tmp_path, **options)
    if backend == "s3":
        assert s3.list_objects_v2(Bucket=names["bucket"], Prefix="positions/")["KeyCount"] > 0
        assert not (tmp_path / "positions").exists(), "the position log lives only on S3"
    spark_dir = tmp_path / "spark"
    last = max(int(name) for name in os.listdir(spark_dir / "offsets") if name.isdigit())
    replayed = last
    assert any(row["batch"] == replayed for row in first), "the replayed batch must hold records"
    # Crash state: the last batch ran (and wrote its output) but Spark never committed it.
    (spark_dir / "commits" / str(last)).unlink()
    (spark_dir / "commits" / f".{last}.crc").unlink(missing_ok=True)
    # New data that a non-exact source would now also return for the replayed batch.
    put(kinesis, names["stream"], 30, start=500)
    second = drain(spark, moto_endpoint, names["stream"], tmp_path, **options)
    original = sorted((r["shard_id"], r["sequence_number"]) for r in first if r["batch"] == replayed)
    replay = sorted((r["shard_id"], r["sequence_number"]) for r in second if r["batch"] == replayed)
    assert replay == original, "the replayed batch returned different records"
    later = [bytes(r["data"]).decode() for r in second if r["batch"] > replayed]
    assert sorted(later) == sorted(json.dumps({"n": n}) for n in range(500, 530))


def test_latest_skips_what_was_there_before_the_query_started(
    spark: Any, moto_endpoint: str, kinesis: Any, names: dict, tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 1)
    put(kinesis, names["stream"], 10)
    assert drain(spark, moto_endpoint, names["stream"], tmp_path, startingPosition="LATEST") == []
    later = put(kinesis, names["stream"], 5, start=100)
    rows = drain(spark, moto_endpoint, names["stream"], tmp_path, startingPosition="LATEST")
    assert sorted(bytes(r["data"]).decode() for r in rows) == sorted(later)


def test_deleting_the_position_log_fails_with_what_to_do(
    spark: Any, moto_endpoint: str, kinesis: Any, names: dict, tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 1)
    put(kinesis, names["stream"], 5)
    drain(spark, moto_endpoint, names["stream"], tmp_path)
    shutil.rmtree(tmp_path / "positions")
    query_fails_with(spark, moto_endpoint, names["stream"], tmp_path, r"(?s)position log.*make reset")


def test_a_recreated_stream_fails_with_what_to_do(
    spark: Any, moto_endpoint: str, kinesis: Any, names: dict, tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 1)
    put(kinesis, names["stream"], 5)
    drain(spark, moto_endpoint, names["stream"], tmp_path)
    kinesis.delete_stream(StreamName=names["stream"])
    wait_until(lambda: names["stream"] not in kinesis.list_streams()["StreamNames"], 30, "stream deleted")
    create_stream(kinesis, names["stream"], 1)
    put(kinesis, names["stream"], 3)  # new sequence numbers a stale checkpoint would misread
    query_fails_with(spark, moto_endpoint, names["stream"], tmp_path, r"(?s)deleted and recreated.*make reset")


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_position_log_first_writer_wins(backend: str, tmp_path: Path, aws: Any, s3: Any, names: dict) -> None:
    if backend == "s3":
        s3.create_bucket(Bucket=names["bucket"])
        log: Any = S3PositionLog(f"s3://{names['bucket']}/positions", "run1", aws)
    else:
        log = LocalPositionLog(str(tmp_path), "run1")
    first = ShardEnd(position_after("10"), 10, False, 0)
    second = ShardEnd(position_after("12"), 12, False, 0)
    assert log.get(3, "shard-a") is None
    assert log.put_if_absent(3, "shard-a", first) == first
    assert log.put_if_absent(3, "shard-a", second) == first, "a later attempt adopts the recorded end"
    assert log.get(3, "shard-a") == first
    log.put_if_absent(9, "shard-a", second)
    assert log.purge_before(5) == 1
    assert log.get(3, "shard-a") is None and log.get(9, "shard-a") == second
    if backend == "local":
        assert not [name for name in os.listdir(tmp_path / "run1" / f"{9:012d}") if name.startswith(".tmp")]


@pytest.mark.parametrize("read_mode", ["polling", "fan-out"])
def test_a_byte_limit_splits_the_drain_into_batches_of_that_size_and_reads_all_once(
    read_mode: str, spark: Any, request: pytest.FixtureRequest, names: dict, tmp_path: Path
) -> None:
    if read_mode == "polling":
        endpoint, kinesis, mode_options = (
            request.getfixturevalue("moto_endpoint"),
            request.getfixturevalue("kinesis"),
            {},
        )
    else:  # enhanced fan-out on kinesis-local (moto has no SubscribeToShard)
        endpoint, kinesis = request.getfixturevalue("kinesis_local_endpoint"), request.getfixturevalue("kinesis_local")
        mode_options = {"consumerName": "bytes"}
    create_stream(kinesis, names["stream"], 2)
    records = [
        {"Data": json.dumps({"n": n, "pad": "x" * (100 + 7 * (n % 50))}).encode(), "PartitionKey": f"key-{n}"}
        for n in range(240)
    ]
    assert kinesis.put_records(StreamName=names["stream"], Records=records)["FailedRecordCount"] == 0
    size = {json.loads(r["Data"])["n"]: len(r["Data"]) + len(r["PartitionKey"]) for r in records}

    rows = drain(spark, endpoint, names["stream"], tmp_path, maxBytesPerTrigger="10k", **mode_options)

    delivered = [json.loads(bytes(row["data"]))["n"] for row in rows]
    assert sorted(delivered) == list(range(240)), "every record once, to the end of the stream"
    share = 10 * 1024 // 2
    reads: dict[tuple[int, str], list[int]] = {}
    for row in rows:
        reads.setdefault((row["batch"], row["shard_id"]), []).append(size[json.loads(bytes(row["data"]))["n"]])
    for (batch, shard), sizes in reads.items():
        assert sum(sizes[:-1]) < share, f"batch {batch} read {shard} past its {share}-byte share before its last record"
    assert len({row["batch"] for row in rows}) >= sum(size.values()) // (2 * share), "a batch per 10 KiB at most"
