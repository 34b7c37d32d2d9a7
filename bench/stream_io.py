"""Records into an emulator stream (the project's writer) and out of it (a plain boto3 GetRecords loop).

The boto3 loop is figure 2's baseline, and copies a stream's records for the in-process source.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from bench.emulator import Emulator
from common.aws import client
from common.settings import AwsSettings
from publisher.kinesis_writer import KinesisWriter, Record

if TYPE_CHECKING:
    from mypy_boto3_kinesis.type_defs import RecordTypeDef


def fill_stream(emulator: Emulator, stream: str, records: Sequence[Record], threads: int = 1) -> float:
    """Put ``records`` with the project's writer (500 per call); returns records/s.

    One thread: moto numbers records per shard with a counter that concurrent PutRecords calls race
    on (records with the same sequence number overwrite each other: 3 of 4000 lost in a test here).
    """
    started = time.monotonic()
    chunks = [records[i : i + 2_000] for i in range(0, len(records), 2_000)]

    def put(chunk: Sequence[Record]) -> None:
        writer = KinesisWriter(client("kinesis", emulator.aws), stream)
        unsent = writer.put(chunk)
        if unsent:
            raise RuntimeError(f"{len(unsent)} records not accepted by the emulator: {writer.stats.last_error}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(put, chunks))
    return len(records) / (time.monotonic() - started)


def read_shard_boto3(
    aws: AwsSettings, stream: str, shard_id: str, on_batch: Callable[[list[RecordTypeDef]], None] | None = None
) -> int:
    """Plain GetRecords loop over one shard from TRIM_HORIZON to the tip; returns the record count."""
    kinesis = client("kinesis", aws)
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    count = 0
    while iterator:
        response = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        records = response["Records"]
        count += len(records)
        if on_batch is not None:
            on_batch(records)
        if not records and response.get("MillisBehindLatest", 0) == 0:
            break
        iterator = response.get("NextShardIterator")
    return count


def read_stream_boto3(
    aws: AwsSettings,
    stream: str,
    shard_ids: Sequence[str],
    on_batch: Callable[[str, list[RecordTypeDef]], None] | None = None,
) -> int:
    """All shards read concurrently (one thread per shard, as Spark runs one task per shard)."""
    with ThreadPoolExecutor(len(shard_ids)) as pool:
        counts = pool.map(
            lambda shard: read_shard_boto3(
                aws, stream, shard, (lambda records: on_batch(shard, records)) if on_batch else None
            ),
            shard_ids,
        )
        return sum(counts)
