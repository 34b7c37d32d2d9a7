"""Running the Kinesis source on its own in the tests' SparkSession (importable as ``source_testing``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

KEYS = [f"key-{k}" for k in range(12)]


def put(kinesis: Any, stream: str, numbers: range) -> list[str]:
    """Publish one JSON record per number (partition keys from ``KEYS`` in turn); return the payloads."""
    payloads = [json.dumps({"key": KEYS[n % len(KEYS)], "n": n}) for n in numbers]
    records = [
        {"Data": p.encode(), "PartitionKey": KEYS[n % len(KEYS)]} for n, p in zip(numbers, payloads, strict=False)
    ]
    for begin in range(0, len(records), 100):
        assert kinesis.put_records(StreamName=stream, Records=records[begin : begin + 100])["FailedRecordCount"] == 0
    return payloads


class Delivered:
    """What a streaming query's ``foreachBatch`` delivered: each row as a dict with its batch id."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def collect(self, frame: Any, batch: int) -> None:
        rows = [{**r.asDict(), "batch": batch} for r in frame.collect()]
        with self._lock:
            self.rows.extend(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self.rows))


def source_frame(spark: Any, endpoint: str, stream: str, checkpoint: Path, **options: str) -> Any:
    """The source's streaming DataFrame over ``stream``, its position log under ``checkpoint/positions``.

    ``options`` are source options and override the defaults set here (``positionLog`` among them).
    """
    return (
        spark.readStream.format("kinesis")
        .option("streamName", stream)
        .option("endpointUrl", endpoint)
        .option("positionLog", str(checkpoint / "positions"))
        .options(**options)
        .load()
    )


def drain(spark: Any, endpoint: str, stream: str, checkpoint: Path, **options: str) -> list[dict[str, Any]]:
    """Run the source with Trigger.AvailableNow; return the rows each batch delivered, with batch ids."""
    delivered: list[dict[str, Any]] = []

    def collect(frame: Any, batch_id: int) -> None:
        delivered.extend({**row.asDict(), "batch": batch_id} for row in frame.collect())

    query = (
        source_frame(spark, endpoint, stream, checkpoint, **options)
        .writeStream.foreachBatch(collect)
        .option("checkpointLocation", str(checkpoint / "spark"))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination(180)
    assert not query.isActive, "Trigger.AvailableNow must drain the stream and stop"
    assert query.exception() is None, query.exception()
    return delivered


def query_fails_with(spark: Any, endpoint: str, stream: str, checkpoint: Path, message: str, **options: str) -> None:
    """Start (or restart) the source from ``checkpoint``: the query must fail with ``message`` (a regex)."""
    query = (
        source_frame(spark, endpoint, stream, checkpoint, **options)
        .writeStream.format("noop")
        .option("checkpointLocation", str(checkpoint / "spark"))
        .trigger(availableNow=True)
        .start()
    )
    with pytest.raises(Exception, match=message):
        query.awaitTermination(120)
