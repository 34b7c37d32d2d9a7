"""``make bench`` / ``python -m bench``: run the benchmarks, write bench/results/ (JSON, results.md, PNGs).

Examples::

    python -m bench                          # everything at the default (modest) sizes
    python -m bench --runs 5 --records 20000 # more, longer runs
    python -m bench --only publisher,source  # a subset (results.md keeps the other figures)
    python -m bench --smoke --out /tmp/b     # seconds-sized harness check (the test suite uses it)
    python -m bench --only fan_out           # figure 8: polling vs enhanced fan-out, on kinesis-local
    python -m bench --only latency --latency-rates 100 --latency-seconds 30 \
        --variant base --variant 'rocksdb:spark.sql.streaming.stateStore.providerClass=...'
                                             # one job run per variant, side by side (latency_variants.json)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.emulator import Emulator
from bench.machine import machine
from bench.progress import log
from bench.repo import REPO
from bench.result_files import document, write_json
from jobs.settings import DEFAULT_SHUFFLE_PARTITIONS

BENCHMARKS = ("publisher", "throughput", "source", "scaling", "latency", "dedup", "fan_out")
# Figures that need no moto_server (fan_out starts its own kinesis-local).
WITHOUT_MOTO = frozenset({"dedup", "fan_out"})


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The options; ``--smoke`` replaces the sizes with seconds-sized ones."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default=str(REPO / "bench" / "results"), help="results directory")
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated subset of {', '.join(BENCHMARKS)} (latency also measures memory)",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median is quoted")
    parser.add_argument("--records", type=int, default=8_000, help="records per throughput run")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--record-bytes", type=int, default=2048)
    parser.add_argument("--scaling-records", type=int, default=5_000)
    parser.add_argument("--scaling-runs", type=int, default=1)
    parser.add_argument("--scaling-shards", default="1,2,4")
    parser.add_argument("--scaling-sizes", default="1024,4096,16384")
    parser.add_argument(
        "--scaling-executors",
        default="1x2,2x1",
        help="executor layouts of the scaling benchmark, EXECUTORSxCORES (local-cluster: one JVM per executor)",
    )
    parser.add_argument("--publisher-records", type=int, default=10_000)
    parser.add_argument("--publisher-runs", type=int, default=5)
    parser.add_argument("--latency-rates", default="100,1000,max")
    parser.add_argument("--latency-seconds", type=float, default=15)
    parser.add_argument("--trigger", default="0 seconds", help="TRIGGER_INTERVAL of the job in the latency run")
    parser.add_argument(
        "--author-stats-trigger",
        default="10 seconds",
        help="AUTHOR_STATS_TRIGGER_INTERVAL of the job in the latency run (windows slide every minute)",
    )
    parser.add_argument(
        "--window-seconds",
        type=float,
        default=75,
        help="seconds of a 20/s trickle after the latency phases, so that author_stats windows close",
    )
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between S3 listings (latency)")
    parser.add_argument(
        "--shuffle-partitions",
        type=int,
        default=DEFAULT_SHUFFLE_PARTITIONS,
        help="as the job's SHUFFLE_PARTITIONS default",
    )
    parser.add_argument("--dedup-ids", default="100000,1000000", help="cache sizes of the dedup benchmark")
    parser.add_argument("--fan-out-records", type=int, default=4_000, help="fan_out: backlog records per shard")
    parser.add_argument("--fan-out-record-bytes", type=int, default=1024, help="fan_out: record size")
    parser.add_argument(
        "--fan-out-max-records", type=int, default=1_000, help="fan_out: records per read (as maxRecordsPerShard)"
    )
    parser.add_argument("--fan-out-rate", type=float, default=20, help="fan_out: records/s of the latency publisher")
    parser.add_argument(
        "--fan-out-triggers", default="5,1", help="fan_out: trigger intervals (s) of the latency phases; 5 is the job's"
    )
    parser.add_argument("--fan-out-seconds", type=float, default=60, help="fan_out: seconds of publishing per trigger")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME[:KEY=VALUE,...]",
        help="latency only: instead of figure 3, one job run per variant (repeat it; names may repeat), "
        "spark.* keys as --conf of the job, other keys its environment; writes latency_variants.json",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one run: checks the harness, not speed")
    args = parser.parse_args(argv)
    for spec in args.variant:
        try:
            parse_variant(spec)
        except ValueError as error:
            parser.error(str(error))
    if args.smoke:
        args.runs, args.records, args.scaling_records, args.scaling_runs = 1, 200, 100, 1
        args.publisher_runs = 1
        args.scaling_shards, args.scaling_sizes, args.publisher_records = "1", "1024", 200
        args.scaling_executors = "1x1"
        args.latency_rates, args.latency_seconds, args.window_seconds = "50", 2, 2
        args.dedup_ids = "20000"
        args.fan_out_records, args.fan_out_max_records = 200, 100
        args.fan_out_triggers, args.fan_out_seconds = "1", 5
    return args


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    """``NAME[:KEY=VALUE,...]`` -> (name, settings); a bare name is the job's own settings.

    A piece without ``=`` continues the value before it (``fs.s3a.performance.flags=create,mkdir``).
    """
    name, _, pairs = spec.partition(":")
    settings: dict[str, str] = {}
    key = ""
    for piece in filter(None, (p.strip() for p in pairs.split(","))):
        if "=" not in piece:
            if not key:
                raise ValueError(f"--variant {spec!r}: {piece!r} is not KEY=VALUE")
            settings[key] += f",{piece}"
            continue
        key, _, value = piece.partition("=")
        key = key.strip()
        if not key:
            raise ValueError(f"--variant {spec!r}: {piece!r} is not KEY=VALUE")
        settings[key] = value.strip()
    return name.strip(), settings


def run_spark_benchmarks(
    selected: list[str], args: argparse.Namespace, emulator: Emulator, out: Path, config: dict[str, Any]
) -> None:
    """Benchmarks 1, 2 and 4: they share one SparkSession, stopped at the end."""
    from bench import throughput

    spark = throughput.spark_session(emulator.aws, args.shuffle_partitions)
    try:
        if not args.smoke:
            throughput.warm_up(spark, emulator)
        if "throughput" in selected:
            log("1. job throughput: Kinesis-fed vs in-process source")
            result = throughput.job_throughput(
                spark,
                emulator,
                records=args.records,
                shards=args.shards,
                record_bytes=args.record_bytes,
                runs=args.runs,
            )
            write_json(out / "job_throughput.json", document("job_throughput", config, result))
        if "source" in selected:
            log("2. source overhead: Kinesis source -> noop vs boto3 GetRecords loop")
            result = throughput.source_overhead(
                spark,
                emulator,
                records=args.records,
                shards=args.shards,
                record_bytes=args.record_bytes,
                runs=args.runs,
            )
            write_json(out / "source_overhead.json", document("source_overhead", config, result))
        if "scaling" in selected:
            log("4. scaling: shards and record size")
            result = throughput.scaling(
                spark,
                emulator,
                records=args.scaling_records,
                shard_counts=[int(s) for s in args.scaling_shards.split(",")],
                record_sizes=[int(s) for s in args.scaling_sizes.split(",")],
                base_shards=args.shards,
                base_bytes=args.record_bytes if not args.smoke else 1024,
                runs=args.scaling_runs,
            )
    finally:
        spark.stop()
    if "scaling" in selected:
        log("4. scaling: executors (local-cluster, one SparkSession each)")
        result["executor_points"] = throughput.executor_scaling(
            emulator,
            layouts=throughput.executor_layouts(args.scaling_executors),
            records=args.scaling_records,
            shards=args.shards,
            record_bytes=args.record_bytes if not args.smoke else 1024,
            runs=args.scaling_runs,
            shuffle_partitions=args.shuffle_partitions,
        )
        write_json(out / "scaling.json", document("scaling", config, result))


def run_latency(
    args: argparse.Namespace, emulator: Emulator, work_dir: Path, out: Path, config: dict[str, Any]
) -> None:
    """Benchmarks 3 and 6 (``latency.json``, ``memory.json``), or with ``--variant`` one run per variant."""
    from bench.latency import end_to_end

    def latency_run(settings: dict[str, str] | None = None, job_name: str = "latency-job") -> dict[str, Any]:
        return end_to_end(
            emulator,
            work_dir,
            rates=[r.strip() for r in args.latency_rates.split(",")],
            seconds=args.latency_seconds,
            record_bytes=args.record_bytes,
            shards=args.shards,
            trigger=args.trigger,
            author_stats_trigger=args.author_stats_trigger,
            window_seconds=args.window_seconds,
            poll=args.poll,
            drain_timeout=max(60.0, 6 * args.latency_seconds),
            shuffle_partitions=args.shuffle_partitions,
            settings=settings,
            job_name=job_name,
        )

    if args.variant:
        variants = []
        for index, (name, settings) in enumerate(map(parse_variant, args.variant)):
            log(f"3. latency, variant {name!r}: {settings or 'the job settings'}")
            load = list(os.getloadavg())
            result = latency_run(settings, f"latency-job-{index}")
            memory = result.pop("memory")
            variants.append(
                {
                    "name": name,
                    "settings": settings,
                    "load_avg_at_start": load,
                    "jvm_peak_rss_mb": memory.get("jvm_peak_rss_mb"),
                    **result,
                }
            )
        write_json(out / "latency_variants.json", document("latency_variants", config, {"variants": variants}))
    else:
        log("3+6. end-to-end latency per publish rate, and the job's memory")
        result = latency_run()
        memory = result.pop("memory")
        write_json(out / "latency.json", document("latency", config, result))
        write_json(out / "memory.json", document("memory", config, memory))


def run_fan_out(args: argparse.Namespace, work_dir: Path, out: Path, config: dict[str, Any]) -> None:
    """Figure 8 (``fan_out.json``): polling vs enhanced fan-out on a kinesis-local of its own."""
    from bench.fan_out_bench import read_modes
    from ops.kinesis_local import KinesisLocal, version

    if version() is None and shutil.which("npm") is None:
        log("8. skipped: kinesis-local is not installed and npm is missing (scripts/install-kinesis-local.sh)")
        return
    log("8. Kinesis read modes: polling (GetRecords) vs enhanced fan-out (SubscribeToShard), kinesis-local")
    local = KinesisLocal.start(work_dir)
    log(f"kinesis-local {version()} on {local.endpoint} (pid {local.child.process.pid})")
    try:
        result = read_modes(
            local,
            shards=args.shards,
            records_per_shard=args.fan_out_records,
            record_bytes=args.fan_out_record_bytes,
            max_records=args.fan_out_max_records,
            max_fetch_seconds=2.0,  # the job's maxFetchSeconds default
            runs=args.runs,
            rate=args.fan_out_rate,
            triggers=[float(t) for t in args.fan_out_triggers.split(",")],
            seconds=args.fan_out_seconds,
        )
    finally:
        local.stop()
    doc = document("fan_out", config, result)
    doc["machine"]["emulator"] = f"{result['emulator']} (Kinesis, 127.0.0.1)"
    write_json(out / "fan_out.json", doc)


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks on one ``moto_server`` (fan_out: kinesis-local); write ``results.md`` and the plots (2: bad ``--only``)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    selected = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(selected) - set(BENCHMARKS)
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr
        )
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="article-bench-"))
    began = time.monotonic()
    log(f"benchmarks {selected}; {machine()['cores']} cores; results -> {out}; scratch {work_dir}")
    emulator = Emulator.start(work_dir) if set(selected) - WITHOUT_MOTO else None
    failed = False
    config = {k: v for k, v in vars(args).items() if k not in ("out", "only")}
    try:
        if "publisher" in selected:
            assert emulator is not None
            from bench.publisher_bench import publisher_throughput

            log("5. publisher: KinesisWriter vs raw PutRecords vs PutRecord")
            result = publisher_throughput(
                emulator,
                records=args.publisher_records,
                single_records=max(50, args.publisher_records // 10),
                shards=args.shards,
                record_bytes=args.record_bytes,
                runs=args.publisher_runs,
            )
            write_json(out / "publisher.json", document("publisher", config, result))
        if "dedup" in selected:
            from bench.dedup_bench import dedup_cache

            sizes = [int(size) for size in args.dedup_ids.split(",")]
            write_json(out / "dedup.json", document("dedup", config, dedup_cache(sizes, args.runs)))
        if {"throughput", "source", "scaling"} & set(selected):
            assert emulator is not None
            run_spark_benchmarks(selected, args, emulator, out, config)
        if "latency" in selected:
            assert emulator is not None
            run_latency(args, emulator, work_dir, out, config)
        if "fan_out" in selected:
            run_fan_out(args, work_dir, out, config)
    except Exception:
        failed = True
        raise
    finally:
        if emulator is not None:
            emulator.stop()
        if not failed:
            shutil.rmtree(work_dir, ignore_errors=True)
        else:
            log(f"failed; logs kept in {work_dir}")
    from bench.plots import plot
    from bench.results_markdown import write_markdown

    plot(out)
    print(write_markdown(out).read_text())
    log(f"done in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
