"""Figure 8: the Kinesis source's two read modes, polling (GetRecords) and enhanced fan-out (SubscribeToShard).

Framework-free, as the source's executors read: ``jobs.kinesis.shard_reader.ShardReader`` over
``KinesisClient``, without (polling) and with (enhanced fan-out) a ``ShardSubscriber`` of a
consumer registered by ``jobs.kinesis.consumer.ensure_consumer``. One stream of ``shards`` shards
on kinesis-local (moto has no SubscribeToShard), both modes in the same run:

- **drain**: ``records_per_shard`` records of ``record_bytes`` pre-filled per shard; each run
  reads every shard from TRIM_HORIZON in reads of at most ``max_records`` (one thread per shard,
  as one task per shard), polling and fan-out alternating which goes first. Per read: records,
  seconds, GetRecords and SubscribeToShard calls, retries (refused subscriptions among them) and
  renewals; every record must be read exactly once.
- **latency**: a paced publisher (``rate`` records/s, its put time in each record) while each mode
  reads every shard once per trigger, as the job does (a ProcessingTime trigger of ``trigger``
  seconds: the next read starts ``trigger`` after the previous one began, at once when that is
  past). Both modes read the same records at the same time (the fan-out consumer's reads do not
  count against the polling quota). Latency = read-return time minus put time; every published
  record must be read once by each mode.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from bench.process_tree import tree_cpu_seconds
from bench.progress import log
from bench.stats import median, percentiles
from common.aws import client, wait_for_stream_active
from jobs.kinesis.client import KinesisClient, boto3_kinesis
from jobs.kinesis.consumer import ensure_consumer
from jobs.kinesis.fan_out import ShardSubscriber
from jobs.kinesis.positions import TRIM_HORIZON, Position
from jobs.kinesis.shard_reader import KinesisRecord, ReadLimits, ShardReader
from ops.kinesis_local import KinesisLocal, version

P = ParamSpec("P")
R = TypeVar("R")

MODES = ("polling", "fan_out")
CONSUMER = "bench-fan-out"
DEADLINE_SECONDS = 60.0  # the job's retryDeadlineSeconds default
_TICK = 0.1  # the publisher sends every 100 ms

# AWS' published figures (Kinesis Data Streams developer guide, "Quotas and limits" and
# "Develop enhanced fan-out consumers"), quoted beside the emulator's numbers.
AWS_FIGURES: dict[str, dict[str, str]] = {
    "polling": {
        "read_throughput": "2 MB/s per shard, shared by every polling consumer",
        "call_quota": "5 GetRecords calls/s per shard, shared (up to 10,000 records or 10 MB per call)",
        "propagation": "~200 ms average with one consumer, up to ~1 s with five",
        "consumers": "every consumer shares the shard's 2 MB/s and 5 calls/s",
    },
    "fan_out": {
        "read_throughput": "2 MB/s per shard per consumer",
        "call_quota": (
            "SubscribeToShard: 1 call/s per shard and consumer, refused (ResourceInUseException) within 5 s "
            "of the previous successful one; a subscription lasts up to 5 min"
        ),
        "propagation": "~70 ms average, records pushed as they arrive",
        "consumers": "up to 20 registered consumers per stream, each with its own 2 MB/s",
    },
}
EMULATOR_NOTE = (
    "kinesis-local pushes one SubscribeToShard event per second and refuses a new subscription for "
    "~2-3 s after the previous one closed, so its fan-out latency is about a second of waiting for the "
    "first event plus that refusal; it hides AWS' push of each record as it arrives (~70 ms) and, having no "
    "quotas, both the 5 calls/s and 2 MB/s per shard that polling consumers share on AWS."
)


@dataclass
class ReadStat:
    """One ``ShardReader.read``: what it returned, how long it took, the calls it made."""

    shard: str
    records: int
    seconds: float
    get_records_calls: int
    subscribe_calls: int
    retries: int
    renewals: int
    started: float  # epoch seconds

    def to_json(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}


@dataclass
class ModeReader:
    """One mode's readers of every shard, with where each stands and the counters' last values."""

    mode: str
    local: KinesisLocal
    stream: str
    consumer_arn: str
    limits: ReadLimits
    positions: dict[str, Position]
    readers: dict[str, ShardReader] = field(default_factory=dict)
    counted: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)

    def reader(self, shard: str) -> ShardReader:
        if shard not in self.readers:
            api = boto3_kinesis(self.local.aws)
            subscriber = ShardSubscriber(self.local.aws, self.consumer_arn) if self.mode == "fan_out" else None
            self.readers[shard] = ShardReader(
                KinesisClient(api, self.stream, DEADLINE_SECONDS), shard, self.limits, subscriber
            )
            self.counted[shard] = (0, 0, 0, 0)
        return self.readers[shard]

    def read(self, shard: str) -> tuple[list[KinesisRecord], ReadStat, float]:
        """One read of ``shard`` from where this mode stands; returns the records, its stat and its return time."""
        reader = self.reader(shard)
        started, began = time.time(), time.perf_counter()
        records, end = reader.read(self.positions[shard], None)
        returned = time.time()
        self.positions[shard] = end.position
        now = (end.get_records_calls, end.subscribe_calls, end.retries, end.renewals)
        before = self.counted[shard]
        self.counted[shard] = now
        calls, subscribes, retries, renewals = (a - b for a, b in zip(now, before, strict=True))
        stat = ReadStat(shard, len(records), time.perf_counter() - began, calls, subscribes, retries, renewals, started)
        return records, stat, returned


def _payload(record_id: str, record_bytes: int) -> bytes:
    """A JSON record of about ``record_bytes`` with its id and put time."""
    head = {"id": record_id, "put": time.time(), "pad": ""}
    head["pad"] = "x" * max(0, record_bytes - len(json.dumps(head)))
    return json.dumps(head, separators=(",", ":")).encode()


def _decoded(records: list[KinesisRecord]) -> list[dict[str, Any]]:
    return [json.loads(r.data) for r in records]


def fill(kinesis: Any, stream: str, shards: dict[str, str], per_shard: int, record_bytes: int) -> dict[str, set[str]]:
    """``per_shard`` records on each shard (its starting hash key); their ids by shard."""
    ids: dict[str, set[str]] = {}
    for shard, hash_key in shards.items():
        ids[shard] = set()
        for begin in range(0, per_shard, 500):
            batch = [f"d-{shard[-4:]}-{n}" for n in range(begin, min(per_shard, begin + 500))]
            pending = [
                {"Data": _payload(i, record_bytes), "PartitionKey": i, "ExplicitHashKey": hash_key} for i in batch
            ]
            while pending:
                response = kinesis.put_records(StreamName=stream, Records=pending)
                pending = [r for r, result in zip(pending, response["Records"], strict=True) if "ErrorCode" in result]
            ids[shard].update(batch)
    return ids


def reconcile(expected: set[str], seen: Counter[str]) -> dict[str, int]:
    """Records read more than once, records never read, records read that were not expected."""
    return {
        "expected": len(expected),
        "read": sum(seen.values()),
        "duplicates": sum(c - 1 for c in seen.values() if c > 1),
        "missing": len(expected - set(seen)),
        "unexpected": len(set(seen) - expected),
    }


def call_summary(stats: list[ReadStat]) -> dict[str, Any]:
    """Calls per 1,000 records and per read, retries and renewals, over ``stats``."""
    records = sum(s.records for s in stats)
    reads = len(stats)
    per_k = 1000 / records if records else float("nan")
    per_read = 1 / reads if reads else float("nan")
    get_records = sum(s.get_records_calls for s in stats)
    subscribes = sum(s.subscribe_calls for s in stats)
    retries = sum(s.retries for s in stats)
    return {
        "reads": reads,
        "records": records,
        "records_per_read": round(records * per_read, 1),
        "read_seconds_p50": round(median([s.seconds for s in stats]), 3),
        "get_records_calls": get_records,
        "subscribe_calls": subscribes,
        "retries": retries,
        "renewals": sum(s.renewals for s in stats),
        "get_records_per_1000": round(get_records * per_k, 2),
        "subscribe_per_1000": round(subscribes * per_k, 2),
        "get_records_per_read": round(get_records * per_read, 2),
        "subscribe_per_read": round(subscribes * per_read, 2),
        "retries_per_read": round(retries * per_read, 2),
    }


def drain_once(local: KinesisLocal, mode: ModeReader, expected: dict[str, set[str]]) -> dict[str, Any]:
    """Read every shard's backlog from TRIM_HORIZON (a thread per shard); per-shard rates, calls, reconciliation."""
    mode.positions = dict.fromkeys(expected, TRIM_HORIZON)

    def shard_drain(shard: str) -> tuple[str, float, list[ReadStat], Counter[str]]:
        stats: list[ReadStat] = []
        seen: Counter[str] = Counter()
        began = time.perf_counter()
        while sum(seen.values()) < len(expected[shard]) and time.perf_counter() - began < 600:
            records, stat, _ = mode.read(shard)
            stats.append(stat)
            seen.update(r["id"] for r in _decoded(records))
        return shard, time.perf_counter() - began, stats, seen

    load, cpu = os.getloadavg()[0], tree_cpu_seconds(local.child.process.pid)
    with ThreadPoolExecutor(len(expected)) as pool:
        results = list(pool.map(shard_drain, expected))
    shards = []
    all_stats: list[ReadStat] = []
    for shard, seconds, stats, seen in results:
        all_stats.extend(stats)
        shards.append(
            {
                "shard": shard,
                "seconds": round(seconds, 3),
                "records_per_s": round(sum(seen.values()) / seconds, 1),
                **reconcile(expected[shard], seen),
                **call_summary(stats),
            }
        )
    return {
        "mode": mode.mode,
        "load_avg_1m_at_start": round(load, 2),
        "emulator_cpu_seconds": round(tree_cpu_seconds(local.child.process.pid) - cpu, 2),
        "records_per_s_per_shard": round(median([s["records_per_s"] for s in shards]), 1),
        "reconciled": all(s["duplicates"] == 0 and s["missing"] == 0 and s["unexpected"] == 0 for s in shards),
        "calls": call_summary(all_stats),
        "shards": shards,
        "reads": [s.to_json() for s in all_stats],
    }


class Publisher(threading.Thread):
    """Puts ``rate`` records/s (every 100 ms) with random partition keys, each carrying its put time."""

    def __init__(self, local: KinesisLocal, stream: str, rate: float, seconds: float, record_bytes: int) -> None:
        super().__init__(name="fan-out-publisher", daemon=True)
        self.kinesis: Any = client("kinesis", local.aws)
        self.stream, self.rate, self.seconds, self.record_bytes = stream, rate, seconds, record_bytes
        self.ids: set[str] = set()
        self.achieved = 0.0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            started = time.monotonic()
            published = 0
            while (elapsed := time.monotonic() - started) < self.seconds:
                due = int(elapsed * self.rate) - published
                if due > 0:
                    ids = [f"p-{uuid.uuid4().hex}" for _ in range(due)]
                    pending = [{"Data": _payload(i, self.record_bytes), "PartitionKey": i} for i in ids]
                    while pending:
                        response = self.kinesis.put_records(StreamName=self.stream, Records=pending)
                        pending = [
                            r for r, result in zip(pending, response["Records"], strict=True) if "ErrorCode" in result
                        ]
                    self.ids.update(ids)
                    published += due
                time.sleep(max(0.0, _TICK - (time.monotonic() - started - elapsed)))
            self.achieved = published / (time.monotonic() - started)
        except BaseException as error:  # reported by the phase
            self.error = error


def trigger_loop(
    mode: ModeReader, shards: list[str], trigger: float, publisher: Publisher, tail_seconds: float
) -> dict[str, Any]:
    """Read every shard once per trigger (in parallel) until the publisher is done and all it sent is read."""
    seen: Counter[str] = Counter()
    latencies: list[float] = []
    stats: list[ReadStat] = []
    triggers = 0
    lock = threading.Lock()

    def read_shard(shard: str) -> None:
        records, stat, returned = mode.read(shard)
        decoded = _decoded(records)
        with lock:
            stats.append(stat)
            seen.update(r["id"] for r in decoded)
            latencies.extend(returned - r["put"] for r in decoded)

    give_up = float("inf")
    with ThreadPoolExecutor(len(shards)) as pool:
        next_start = time.monotonic()
        while True:
            if not publisher.is_alive():
                if set(publisher.ids) <= set(seen):
                    break
                give_up = min(give_up, time.monotonic() + tail_seconds)
                if time.monotonic() > give_up:
                    break
            time.sleep(max(0.0, next_start - time.monotonic()))
            began = time.monotonic()
            list(pool.map(read_shard, shards))
            triggers += 1
            next_start = max(began + trigger, time.monotonic())
    gaps = sorted(
        b.started - a.started
        for shard in shards
        for a, b in zip(
            [s for s in stats if s.shard == shard], [s for s in stats if s.shard == shard][1:], strict=False
        )
    )
    summary = percentiles(latencies)
    return {
        "mode": mode.mode,
        "triggers": triggers,
        "latency_s": {k: round(v, 3) for k, v in summary.items()},
        "read_interval_s_p50": round(median(gaps), 2),
        "calls": call_summary(stats),
        "reconciled": False,  # set by the phase once the publisher's ids are final
        "seen": seen,
        "latencies": sorted(round(v, 3) for v in latencies),
    }


def latency_phase(
    local: KinesisLocal,
    stream: str,
    readers: dict[str, ModeReader],
    shards: list[str],
    *,
    trigger: float,
    rate: float,
    seconds: float,
    record_bytes: int,
) -> dict[str, Any]:
    """Publish at ``rate`` for ``seconds`` while both modes read on a ``trigger``-second trigger."""
    load, cpu = os.getloadavg()[0], tree_cpu_seconds(local.child.process.pid)
    publisher = Publisher(local, stream, rate, seconds, record_bytes)
    results: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []

    def run(mode: str) -> None:
        try:
            results[mode] = trigger_loop(readers[mode], shards, trigger, publisher, tail_seconds=max(30.0, 6 * trigger))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(mode,), name=f"fan-out-{mode}") for mode in MODES]
    publisher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    publisher.join()
    if publisher.error is not None:
        raise publisher.error
    if errors:
        raise errors[0]
    modes = []
    for mode in MODES:
        result = results[mode]
        result.update(reconcile(publisher.ids, result.pop("seen")))
        result["reconciled"] = result["duplicates"] == 0 and result["missing"] == 0 and result["unexpected"] == 0
        modes.append(result)
        lat = result["latency_s"]
        log(
            f"8. latency, trigger {trigger:g} s, {mode}: p50 {lat['p50']:.2f} s, p95 {lat['p95']:.2f} s, "
            f"{result['read']} of {result['expected']} read, {result['calls']['reads']} reads, "
            f"{result['calls']['retries']} retries"
        )
    return {
        "trigger_s": trigger,
        "rate": rate,
        "achieved_rate": round(publisher.achieved, 1),
        "seconds": seconds,
        "published": len(publisher.ids),
        "load_avg_1m_at_start": round(load, 2),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "emulator_cpu_seconds": round(tree_cpu_seconds(local.child.process.pid) - cpu, 2),
        "modes": modes,
    }


def _source_warnings_silenced(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with the source's logger at ERROR (its retry warnings are counted instead)."""

    @functools.wraps(function)
    def silenced(*args: P.args, **kwargs: P.kwargs) -> R:
        source_logger = logging.getLogger("jobs.kinesis")
        level = source_logger.level
        source_logger.setLevel(logging.ERROR)
        try:
            return function(*args, **kwargs)
        finally:
            source_logger.setLevel(level)

    return silenced


@_source_warnings_silenced
def read_modes(
    local: KinesisLocal,
    *,
    shards: int,
    records_per_shard: int,
    record_bytes: int,
    max_records: int,
    max_fetch_seconds: float,
    runs: int,
    rate: float,
    triggers: list[float],
    seconds: float,
) -> dict[str, Any]:
    """Figure 8: drain runs (modes alternating) then one latency phase per trigger interval, on one stream.

    The source's ``kinesis_retry`` warnings (a refused subscription each) are silenced here: the
    reads count them (``retries``).
    """
    kinesis = client("kinesis", local.aws)
    stream = f"fan-out-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    wait_for_stream_active(kinesis, stream, 30)
    began = time.perf_counter()
    arn = ensure_consumer(boto3_kinesis(local.aws), stream, CONSUMER, DEADLINE_SECONDS)
    register_seconds = time.perf_counter() - began
    listed = kinesis.list_shards(StreamName=stream)["Shards"]
    hash_keys = {s["ShardId"]: s["HashKeyRange"]["StartingHashKey"] for s in listed}
    shard_ids = list(hash_keys)
    log(f"8. read modes: stream {stream}, {shards} shards, consumer registered in {register_seconds:.1f} s")
    began = time.perf_counter()
    expected = fill(kinesis, stream, hash_keys, records_per_shard, record_bytes)
    log(f"8. filled {records_per_shard:,} records of {record_bytes} B per shard in {time.perf_counter() - began:.1f} s")
    limits = ReadLimits(max_records, max_fetch_seconds)
    readers = {m: ModeReader(m, local, stream, arn, limits, {}) for m in MODES}
    drains: list[dict[str, Any]] = []
    for run in range(runs):
        for mode in MODES if run % 2 == 0 else tuple(reversed(MODES)):
            result = drain_once(local, readers[mode], expected)
            result["run"] = run + 1
            drains.append(result)
            calls = result["calls"]
            log(
                f"8. drain run {run + 1}/{runs}, {mode}: {result['records_per_s_per_shard']:,.0f} records/s per shard, "
                f"{calls['reads']} reads, GetRecords {calls['get_records_calls']}, SubscribeToShard "
                f"{calls['subscribe_calls']}, retries {calls['retries']}, reconciled {result['reconciled']} "
                f"(load {result['load_avg_1m_at_start']})"
            )
    phases = [
        latency_phase(
            local, stream, readers, shard_ids, trigger=trigger, rate=rate, seconds=seconds, record_bytes=record_bytes
        )
        for trigger in triggers
    ]
    kinesis.delete_stream(StreamName=stream, EnforceConsumerDeletion=True)
    summary = {}
    for mode in MODES:
        runs_of_mode = [d for d in drains if d["mode"] == mode]
        stats = [ReadStat(**r) for d in runs_of_mode for r in d["reads"]]
        summary[mode] = {
            "records_per_s_per_shard": round(median([d["records_per_s_per_shard"] for d in runs_of_mode]), 1),
            "mb_per_s_per_shard": round(
                median([d["records_per_s_per_shard"] for d in runs_of_mode]) * record_bytes / 1e6, 2
            ),
            "reconciled": all(d["reconciled"] for d in runs_of_mode),
            "calls": call_summary(stats),
        }
    return {
        "emulator": f"kinesis-local {version()}",
        "shards": shards,
        "records_per_shard": records_per_shard,
        "record_bytes": record_bytes,
        "max_records": max_records,
        "max_fetch_seconds": max_fetch_seconds,
        "runs": runs,
        "consumer_register_seconds": round(register_seconds, 2),
        "drain_summary": summary,
        "drains": drains,
        "latency": phases,
        "aws_published": AWS_FIGURES,
        "emulator_note": EMULATOR_NOTE,
    }
