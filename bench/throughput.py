"""Throughput benchmarks run in one local SparkSession: job vs in-process source, source vs boto3, scaling.

Every comparison drains the *same* pre-filled stream (or the same records copied from it),
alternating which side goes first, with ``Trigger.AvailableNow``; the figure is the wall
time from ``start()`` until every query has stopped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import TYPE_CHECKING, Any

from bench.env import (
    REPO,
    Emulator,
    SizedArticles,
    fill_stream,
    log,
    median,
    read_stream_boto3,
)
from common.settings import AwsSettings

if TYPE_CHECKING:
    from mypy_boto3_kinesis.type_defs import RecordTypeDef


def spark_session(aws: AwsSettings, shuffle_partitions: int, master: str = "local[2]") -> Any:
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    from jobs.kinesis.source import KinesisDataSource
    from jobs.spark_session import build_session

    started = time.monotonic()
    spark = build_session(
        "article-pipeline-bench", aws, master=master, shuffle_partitions=shuffle_partitions, ui=False, log_level="ERROR"
    )
    spark.dataSource.register(KinesisDataSource)
    log(f"SparkSession {master} ready in {time.monotonic() - started:.1f} s")
    return spark


def job_settings(emulator: Emulator, stream: str, bucket: str, checkpoint: str, **extra: str) -> Any:
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
    cpu_before = emulator.cpu_seconds()
    started = time.monotonic()
    count = read_stream_boto3(emulator.aws, stream, emulator.shard_ids(stream))
    seconds = time.monotonic() - started
    moto_cpu = emulator.cpu_seconds() - cpu_before
    if count != expected:
        raise AssertionError(f"boto3 loop read {count} records, expected {expected}")
    return {"seconds": seconds, "records": count, "records_per_s": count / seconds, "moto_cpu_seconds": moto_cpu}


def prepared_stream(
    emulator: Emulator, shards: int, records: int, record_bytes: int, mem_dir: str | None = None
) -> tuple[str, float]:
    """A stream filled with ``records`` articles; optionally the same records copied to ``mem_dir``."""
    from datetime import datetime, timezone

    from bench.memsource import write_shard_files
    from jobs.kinesis.shard_reader import KinesisRecord

    stream = emulator.create_stream(shards)
    payload = SizedArticles(record_bytes).records(records, datetime.now(timezone.utc))
    put_rate = fill_stream(emulator, stream, payload)
    if mem_dir:
        copied: dict[str, list[Any]] = {}

        def keep(shard: str, batch: list[RecordTypeDef]) -> None:
            copied.setdefault(shard, []).extend(
                KinesisRecord(r["Data"], r["PartitionKey"], r["SequenceNumber"], None, r["ApproximateArrivalTimestamp"])
                for r in batch
            )

        read_stream_boto3(emulator.aws, stream, emulator.shard_ids(stream), keep)
        write_shard_files(mem_dir, copied)
    return stream, put_rate


def warm_up(spark: Any, emulator: Emulator) -> None:
    """One tiny job run so Python workers and code paths are warm before anything is timed."""
    mem_dir = tempfile.mkdtemp(prefix="bench-warm-")
    stream, _ = prepared_stream(emulator, 2, 200, 2048, mem_dir)
    started = time.monotonic()
    run_job(spark, emulator, stream, 200, mem_dir=None)
    run_job(spark, emulator, stream, 200, mem_dir=mem_dir)
    run_source_noop(spark, emulator, stream, 200)
    emulator.delete_stream(stream)
    shutil.rmtree(mem_dir, ignore_errors=True)
    log(f"warm-up done in {time.monotonic() - started:.1f} s")


def job_throughput(
    spark: Any, emulator: Emulator, *, records: int, shards: int, record_bytes: int, runs: int
) -> dict[str, Any]:
    """Benchmark 1: the job fed by Kinesis vs. the same job fed by the in-process source."""
    mem_dir = tempfile.mkdtemp(prefix="bench-mem-")
    stream, put_rate = prepared_stream(emulator, shards, records, record_bytes, mem_dir)
    kinesis_runs: list[dict[str, Any]] = []
    memory_runs: list[dict[str, Any]] = []
    for run in range(runs):
        order = ["kinesis", "memory"] if run % 2 == 0 else ["memory", "kinesis"]
        for side in order:
            result = run_job(spark, emulator, stream, records, mem_dir=mem_dir if side == "memory" else None)
            (kinesis_runs if side == "kinesis" else memory_runs).append(result)
            log(
                f"  job throughput run {run + 1}/{runs} {side:>7}: {result['articles_per_s']:,.0f} articles/s "
                f"({result['seconds']:.1f} s, batches {result['micro_batches']})"
            )
    emulator.delete_stream(stream)
    shutil.rmtree(mem_dir, ignore_errors=True)
    kinesis = median(r["articles_per_s"] for r in kinesis_runs)
    memory = median(r["articles_per_s"] for r in memory_runs)
    return {
        "records": records,
        "shards": shards,
        "record_bytes": record_bytes,
        "runs": runs,
        "fill_put_records_per_s": put_rate,
        "kinesis_articles_per_s": kinesis,
        "memory_articles_per_s": memory,
        "ratio": kinesis / memory,
        "target_ratio": 0.8,
        "kinesis_runs": kinesis_runs,
        "memory_runs": memory_runs,
    }


def source_overhead(
    spark: Any,
    emulator: Emulator,
    *,
    records: int,
    shards: int,
    record_bytes: int,
    runs: int,
    source_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Benchmark 2: the Kinesis source into a noop sink vs. a plain boto3 GetRecords loop."""
    stream, _ = prepared_stream(emulator, shards, records, record_bytes)
    source_runs, boto_runs = [], []
    for run in range(runs):
        order = ["source", "boto3"] if run % 2 == 0 else ["boto3", "source"]
        for side in order:
            if side == "source":
                result = run_source_noop(spark, emulator, stream, records, **(source_options or {}))
                source_runs.append(result)
            else:
                result = run_boto3(emulator, stream, records)
                boto_runs.append(result)
            log(
                f"  source overhead run {run + 1}/{runs} {side:>6}: {result['records_per_s']:,.0f} records/s "
                f"({result['seconds']:.1f} s)"
            )
    emulator.delete_stream(stream)
    source = median(r["records_per_s"] for r in source_runs)
    boto = median(r["records_per_s"] for r in boto_runs)
    return {
        "records": records,
        "shards": shards,
        "record_bytes": record_bytes,
        "runs": runs,
        "source_options": source_options or {},
        "source_records_per_s": source,
        "boto3_records_per_s": boto,
        "ratio": source / boto,
        "target_ratio": 0.9,
        "source_runs": source_runs,
        "boto3_runs": boto_runs,
    }


def scaling(
    spark: Any,
    emulator: Emulator,
    *,
    records: int,
    shard_counts: list[int],
    record_sizes: list[int],
    base_shards: int,
    base_bytes: int,
    runs: int,
) -> dict[str, Any]:
    """Benchmark 4: job (Kinesis-fed) and source-alone throughput vs. shards and vs. record size."""
    points = []
    configs = [(s, base_bytes) for s in shard_counts] + [
        (base_shards, b) for b in record_sizes if (base_shards, b) not in [(s, base_bytes) for s in shard_counts]
    ]
    for shards, record_bytes in configs:
        stream, put_rate = prepared_stream(emulator, shards, records, record_bytes)
        job_runs, source_runs, boto_runs = [], [], []
        for _ in range(runs):
            job_runs.append(run_job(spark, emulator, stream, records, mem_dir=None))
            source_runs.append(run_source_noop(spark, emulator, stream, records))
            boto_runs.append(run_boto3(emulator, stream, records))
        emulator.delete_stream(stream)
        point = {
            "shards": shards,
            "record_bytes": record_bytes,
            "records": records,
            "runs": runs,
            "put_records_per_s": put_rate,
            "job_articles_per_s": median(r["articles_per_s"] for r in job_runs),
            "job_seconds": median(r["seconds"] for r in job_runs),
            "source_records_per_s": median(r["records_per_s"] for r in source_runs),
            "boto3_records_per_s": median(r["records_per_s"] for r in boto_runs),
        }
        point["job_mb_per_s"] = point["job_articles_per_s"] * record_bytes / 1e6
        points.append(point)
        log(
            f"  scaling {shards} shard(s) {record_bytes // 1024} KB: job {point['job_articles_per_s']:,.0f}/s, "
            f"source {point['source_records_per_s']:,.0f}/s, boto3 {point['boto3_records_per_s']:,.0f}/s, "
            f"put {put_rate:,.0f}/s"
        )
    return {
        "records": records,
        "runs": runs,
        "base_shards": base_shards,
        "base_record_bytes": base_bytes,
        "executors": "local[2]: one executor with 2 task slots (the machine has 2 cores)",
        "points": points,
    }
