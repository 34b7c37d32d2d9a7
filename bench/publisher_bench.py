"""Benchmark 5: ``KinesisWriter.put`` vs. a raw PutRecords loop (same 500-record calls) vs. PutRecord.

Each measurement writes into a fresh stream (moto slows as a shard grows), the records are
encoded before the clock starts, and the order of the three rotates between runs.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from bench.emulator import Emulator
from bench.progress import log
from bench.sized_articles import SizedArticles
from bench.stats import median
from common.aws import client
from publisher.kinesis_writer import MAX_RECORDS_PER_CALL, KinesisWriter, Record

if TYPE_CHECKING:
    from typing import Unpack

    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import PutRecordsInputTypeDef, PutRecordsOutputTypeDef


def _warm_client(emulator: Emulator, stream: str) -> KinesisClient:
    """A client whose connection and lazily loaded models are ready (not part of any timing)."""
    kinesis = client("kinesis", emulator.aws)
    kinesis.describe_stream_summary(StreamName=stream)
    return kinesis


def _writer(emulator: Emulator, stream: str, records: list[Record]) -> float:
    kinesis = _warm_client(emulator, stream)
    writer = KinesisWriter(kinesis, stream)
    started = time.monotonic()
    unsent = writer.put(records)
    seconds = time.monotonic() - started
    if unsent:
        raise RuntimeError(f"KinesisWriter left {len(unsent)} records unsent")
    return seconds


def _raw_put_records(emulator: Emulator, stream: str, records: list[Record]) -> float:
    kinesis = _warm_client(emulator, stream)
    started = time.monotonic()
    for begin in range(0, len(records), MAX_RECORDS_PER_CALL):
        response = kinesis.put_records(
            StreamName=stream,
            Records=[
                {"PartitionKey": r.partition_key, "Data": r.data} for r in records[begin : begin + MAX_RECORDS_PER_CALL]
            ],
        )
        if response["FailedRecordCount"]:
            raise RuntimeError(f"{response['FailedRecordCount']} records failed")
    return time.monotonic() - started


def _put_record_each(emulator: Emulator, stream: str, records: list[Record]) -> float:
    kinesis = _warm_client(emulator, stream)
    started = time.monotonic()
    for record in records:
        kinesis.put_record(StreamName=stream, PartitionKey=record.partition_key, Data=record.data)
    return time.monotonic() - started


class _InstantKinesis:
    """Accepts every PutRecords at once: isolates the client-side cost of each publishing path."""

    def put_records(self, **kwargs: Unpack[PutRecordsInputTypeDef]) -> PutRecordsOutputTypeDef:
        return {
            "FailedRecordCount": 0,
            "Records": [{"SequenceNumber": "1", "ShardId": "s"} for _ in kwargs["Records"]],
            "EncryptionType": "NONE",
            "ResponseMetadata": {"RequestId": "", "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0},
        }


def client_side_overhead(records: list[Record], repeats: int = 5) -> dict[str, float]:
    """Microseconds per record spent in KinesisWriter.put vs. a bare loop, with an instant fake client."""
    fake = _InstantKinesis()
    best_writer = best_raw = float("inf")
    for _ in range(repeats):
        writer = KinesisWriter(fake, "s")
        started = time.perf_counter()
        writer.put(records)
        best_writer = min(best_writer, time.perf_counter() - started)
        started = time.perf_counter()
        for begin in range(0, len(records), MAX_RECORDS_PER_CALL):
            fake.put_records(
                StreamName="s",
                Records=[
                    {"PartitionKey": r.partition_key, "Data": r.data}
                    for r in records[begin : begin + MAX_RECORDS_PER_CALL]
                ],
            )
        best_raw = min(best_raw, time.perf_counter() - started)
    return {
        "writer_us_per_record": best_writer / len(records) * 1e6,
        "raw_loop_us_per_record": best_raw / len(records) * 1e6,
    }


def publisher_throughput(
    emulator: Emulator, *, records: int, single_records: int, shards: int, record_bytes: int, runs: int
) -> dict[str, Any]:
    """Figure 5: records/s of each publishing path (median of ``runs``, order rotated), and the client-side cost."""
    payload = SizedArticles(record_bytes, seed=5).records(records, datetime.now(timezone.utc))
    variants = {
        "writer": (_writer, payload),
        "raw_put_records": (_raw_put_records, payload),
        "put_record": (_put_record_each, payload[:single_records]),
    }
    measured: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for run in range(runs):
        for name in names[run % 3 :] + names[: run % 3]:
            function, batch = variants[name]
            stream = emulator.create_stream(shards, "pub")
            seconds = function(emulator, stream, batch)
            emulator.delete_stream(stream)
            measured[name].append(len(batch) / seconds)
            log(f"  publisher run {run + 1}/{runs} {name:>15}: {len(batch) / seconds:,.0f} records/s")
    rates = {name: median(values) for name, values in measured.items()}
    overhead = client_side_overhead(payload)
    log(
        f"  client-side cost (instant fake client): writer {overhead['writer_us_per_record']:.2f} us/record, "
        f"bare loop {overhead['raw_loop_us_per_record']:.2f} us/record"
    )
    return {
        "records": records,
        "single_records": single_records,
        "shards": shards,
        "record_bytes": record_bytes,
        "runs": runs,
        "batch_size": MAX_RECORDS_PER_CALL,
        "writer_records_per_s": rates["writer"],
        "raw_put_records_per_s": rates["raw_put_records"],
        "put_record_per_s": rates["put_record"],
        "ratio_writer_vs_raw": rates["writer"] / rates["raw_put_records"],
        "target_ratio": 0.9,
        "batching_speedup": rates["writer"] / rates["put_record"],
        "per_run_ratio_writer_vs_raw": [
            w / r for w, r in zip(measured["writer"], measured["raw_put_records"], strict=False)
        ],
        "client_side_overhead": overhead,
        "all_runs": measured,
    }
