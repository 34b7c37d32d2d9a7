"""One timed drain of a pre-filled stream: the job's two queries, the Kinesis source alone, or a plain boto3 loop.

Each drain runs with ``Trigger.AvailableNow`` (the boto3 loop reads to the tip), checks that it
read every record, and reports its wall time, its micro-batches and the CPU moto used meanwhile.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from typing import Any

from bench.emulator import Emulator
from bench.stream_io import read_stream_boto3


def job_settings(emulator: Emulator, stream: str, bucket: str, checkpoint: str, **extra: str) -> Any:
    """The job's settings for one AvailableNow drain of ``stream`` into ``bucket`` (``extra``: more variables)."""
    from jobs.settings import JobSettings

    env = {
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "AWS_REGION": "us-east-1",
        "KINESIS_STREAM_NAME": stream,
        "S3_BUCKET_NAME": bucket,
        "CHECKPOINT_LOCATION": checkpoint,
        "TRIGGER_INTERVAL": "available-now",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    return JobSettings.from_env(env)


def memory_input(mem_dir: str, limit: int) -> Any:
    """The job's queries fed by the ``benchmem`` source instead of Kinesis (everything else unchanged)."""
    from bench.memsource import MemDataSource
    from jobs.queries import StreamInput

    return StreamInput(MemDataSource, lambda _query: {"path": mem_dir, "maxRecordsPerShard": str(limit)})


def _batch_summary(query: Any) -> list[dict[str, Any]]:
    """Rows and where the time went, per micro-batch (Spark's query progress)."""
    return [
        {
            "batch": p["batchId"],
            "rows": p["numInputRows"],
            **{
                key: p["durationMs"].get(key)
                for key in (
                    "triggerExecution",
                    "latestOffset",
                    "queryPlanning",
                    "addBatch",
                    "walCommit",
                    "commitOffsets",
                )
            },
        }
        for p in query.recentProgress
    ]


def _await(queries: list[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for query in queries:
        query.awaitTermination(max(1.0, deadline - time.monotonic()))
    for query in queries:
        if query.isActive:
            query.stop()
            raise TimeoutError(f"query {query.name} did not drain within {timeout:.0f} s")
        if query.exception() is not None:
            raise RuntimeError(f"query {query.name} failed: {query.exception()}")


def run_job(
    spark: Any, emulator: Emulator, stream: str, expected: int, *, mem_dir: str | None, timeout: float = 600
) -> dict[str, Any]:
    """Both job queries (articles + author_stats) with AvailableNow; wall time until both stop."""
    from jobs.queries import start_queries
    from ops.outputs import read_output

    bucket = emulator.create_bucket("bench-out")
    checkpoint = tempfile.mkdtemp(prefix="bench-ckpt-")
    settings = job_settings(emulator, stream, bucket, checkpoint)
    source = memory_input(mem_dir, settings.max_records_per_shard) if mem_dir else None
    try:
        cpu_before = emulator.cpu_seconds()
        started = time.monotonic()
        queries = start_queries(spark, settings, source)
        _await(queries, timeout)
        seconds = time.monotonic() - started
        moto_cpu = emulator.cpu_seconds() - cpu_before
        batches = {q.name: len(q.recentProgress) for q in queries}
        progress = {q.name: _batch_summary(q) for q in queries}
        enriched = read_output(emulator.aws, bucket, "enriched_articles").num_rows
        if enriched != expected:
            raise AssertionError(
                f"{'memory' if mem_dir else 'kinesis'}-fed job wrote {enriched} enriched rows, expected {expected}"
            )
        return {
            "seconds": seconds,
            "articles": expected,
            "articles_per_s": expected / seconds,
            "micro_batches": batches,
            "batches": progress,
            "moto_cpu_seconds": moto_cpu,
        }
    finally:
        shutil.rmtree(checkpoint, ignore_errors=True)


def run_source_noop(
    spark: Any, emulator: Emulator, stream: str, expected: int, *, timeout: float = 600, **options: str
) -> dict[str, Any]:
    """The Kinesis source alone into the ``noop`` sink, AvailableNow."""
    checkpoint = tempfile.mkdtemp(prefix="bench-src-")
    try:
        frame = (
            spark.readStream.format("kinesis")
            .option("streamName", stream)
            .option("endpointUrl", emulator.endpoint)
            .option("positionLog", f"{checkpoint}/positions")
            .option("logLevel", "WARNING")
            .options(**options)
            .load()
        )
        cpu_before = emulator.cpu_seconds()
        started = time.monotonic()
        query = (
            frame.writeStream.format("noop")
            .option("checkpointLocation", f"{checkpoint}/spark")
            .trigger(availableNow=True)
            .start()
        )
        _await([query], timeout)
        seconds = time.monotonic() - started
        moto_cpu = emulator.cpu_seconds() - cpu_before
        rows = sum(p["numInputRows"] for p in query.recentProgress)
        if rows != expected:
            raise AssertionError(f"kinesis source read {rows} rows, expected {expected}")
        in_batches = sum(p["durationMs"].get("triggerExecution", 0) for p in query.recentProgress) / 1000
        return {
            "seconds": seconds,
            "records": rows,
            "records_per_s": rows / seconds,
            "in_batch_seconds": in_batches,
            "micro_batches": len(query.recentProgress),
            "batches": _batch_summary(query),
            "moto_cpu_seconds": moto_cpu,
        }
    finally:
        shutil.rmtree(checkpoint, ignore_errors=True)


def run_boto3(emulator: Emulator, stream: str, expected: int) -> dict[str, Any]:
    """The plain boto3 GetRecords loop over every shard of ``stream`` (one thread per shard)."""
    cpu_before = emulator.cpu_seconds()
    started = time.monotonic()
    count = read_stream_boto3(emulator.aws, stream, emulator.shard_ids(stream))
    seconds = time.monotonic() - started
    moto_cpu = emulator.cpu_seconds() - cpu_before
    if count != expected:
        raise AssertionError(f"boto3 loop read {count} records, expected {expected}")
    return {"seconds": seconds, "records": count, "records_per_s": count / seconds, "moto_cpu_seconds": moto_cpu}
