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

from bench.emulator import Emulator
from bench.progress import log
from bench.repo import python_path_with_repo
from bench.sized_articles import SizedArticles
from bench.stats import median
from bench.stream_io import fill_stream, read_stream_boto3
from bench.timed_drains import run_boto3, run_job, run_source_noop
from common.settings import AwsSettings

if TYPE_CHECKING:
    from mypy_boto3_kinesis.type_defs import RecordTypeDef


def spark_session(aws: AwsSettings, shuffle_partitions: int, master: str = "local[2]") -> Any:
    """The job's SparkSession (no UI, ERROR logs) with the Kinesis source registered; workers import the repository."""
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["PYTHONPATH"] = python_path_with_repo()
    from jobs.kinesis.source import KinesisDataSource
    from jobs.spark_session import build_session

    started = time.monotonic()
    spark = build_session(
        "article-pipeline-bench", aws, master=master, shuffle_partitions=shuffle_partitions, ui=False, log_level="ERROR"
    )
    spark.dataSource.register(KinesisDataSource)
    log(f"SparkSession {master} ready in {time.monotonic() - started:.1f} s")
    return spark


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


def job_point(
    shards: int, record_bytes: int, records: int, put_rate: float, job_runs: list[dict[str, Any]]
) -> dict[str, Any]:
    """One point of figure 4: the stream's shape and the job's median over ``job_runs``."""
    return {
        "shards": shards,
        "record_bytes": record_bytes,
        "records": records,
        "runs": len(job_runs),
        "put_records_per_s": put_rate,
        "job_articles_per_s": median(r["articles_per_s"] for r in job_runs),
        "job_seconds": median(r["seconds"] for r in job_runs),
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
            **job_point(shards, record_bytes, records, put_rate, job_runs),
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


def executor_layouts(text: str) -> list[tuple[int, int]]:
    """``"1x2,2x1"`` -> [(1, 2), (2, 1)]: executors x cores each."""
    layouts = []
    for piece in filter(None, (p.strip() for p in text.split(","))):
        executors, _, cores = piece.partition("x")
        if not executors.isdigit() or not cores.isdigit() or int(executors) < 1 or int(cores) < 1:
            raise ValueError(f"executor layout {piece!r} is not EXECUTORSxCORES (e.g. 2x1)")
        layouts.append((int(executors), int(cores)))
    return layouts


def executor_scaling(
    emulator: Emulator,
    *,
    layouts: list[tuple[int, int]],
    records: int,
    shards: int,
    record_bytes: int,
    runs: int,
    shuffle_partitions: int,
    executor_memory_mb: int = 1536,
) -> list[dict[str, Any]]:
    """Benchmark 4 by executors: the job's throughput with ``local-cluster[executors, cores, memory]``.

    Each layout is its own SparkSession (one per process at a time), so it runs after the shared one
    stopped; its executors are separate JVMs, with their own Python workers, as on a cluster.
    """
    points = []
    for executors, cores in layouts:
        spark = spark_session(
            emulator.aws, shuffle_partitions, master=f"local-cluster[{executors},{cores},{executor_memory_mb}]"
        )
        try:
            warm, _ = prepared_stream(emulator, shards, 200, record_bytes)
            run_job(spark, emulator, warm, 200, mem_dir=None)  # Python workers and code paths warm
            emulator.delete_stream(warm)
            stream, put_rate = prepared_stream(emulator, shards, records, record_bytes)
            job_runs = [run_job(spark, emulator, stream, records, mem_dir=None) for _ in range(runs)]
            emulator.delete_stream(stream)
        finally:
            spark.stop()
        point = {
            "executors": executors,
            "cores_per_executor": cores,
            "executor_memory_mb": executor_memory_mb,
            **job_point(shards, record_bytes, records, put_rate, job_runs),
        }
        points.append(point)
        log(f"  scaling {executors} executor(s) x {cores} core(s): job {point['job_articles_per_s']:,.0f}/s")
    return points
