"""What every benchmark shares: the emulator, the records, the machine description, RSS readings.

Nothing here binds anything but ``moto_server`` on a free 127.0.0.1 port.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.aws import client, wait_for_stream_active
from common.settings import AwsSettings
from ops.processes import Child, start_moto, stop_all
from publisher.articles import ArticleGenerator
from publisher.kinesis_writer import KinesisWriter, Record

if TYPE_CHECKING:
    from mypy_boto3_kinesis.type_defs import RecordTypeDef

REPO = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    """Progress line on stdout (``make bench`` shows it as it runs)."""
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def machine() -> dict[str, Any]:
    """Cores, CPU model, load and versions: stated next to every figure."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for package in ("pyspark", "pyarrow", "boto3", "moto"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "load_avg_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "versions": versions,
        "emulator": f"moto_server {versions.get('moto')} (Kinesis + S3, 127.0.0.1)",
    }


@dataclass
class Emulator:
    """A ``moto_server`` this harness started, and clients for it."""

    endpoint: str
    child: Child
    aws: AwsSettings = field(init=False)

    def __post_init__(self) -> None:
        self.aws = AwsSettings(region="us-east-1", endpoint_url=self.endpoint)
        self.kinesis = client("kinesis", self.aws)
        self.s3 = client("s3", self.aws)

    @classmethod
    def start(cls, work_dir: Path) -> Emulator:
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        child, endpoint = start_moto(str(work_dir), os.environ)
        log(f"moto_server on {endpoint} (pid {child.process.pid})")
        return cls(endpoint, child)

    def stop(self) -> None:
        stop_all([self.child], grace_seconds=5)

    def cpu_seconds(self) -> float:
        """CPU time moto_server has used so far (user + system): it shares the machine's cores."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in descendants(self.child.process.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def create_stream(self, shards: int, prefix: str = "bench") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.kinesis.create_stream(StreamName=name, ShardCount=shards)
        wait_for_stream_active(self.kinesis, name, 30)
        return name

    def delete_stream(self, name: str) -> None:
        """Free moto's memory (it keeps every record; a grown shard slows it down)."""
        with contextlib.suppress(Exception):  # best effort
            self.kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)

    def create_bucket(self, prefix: str = "bench") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.s3.create_bucket(Bucket=name)
        return name

    def shard_ids(self, stream: str) -> list[str]:
        return [s["ShardId"] for s in self.kinesis.list_shards(StreamName=stream)["Shards"]]


class SizedArticles:
    """Valid articles whose JSON encoding is ``record_bytes`` long (body padded or cut to fit)."""

    def __init__(self, record_bytes: int, seed: int = 7) -> None:
        self.record_bytes = record_bytes
        self.generator = ArticleGenerator(seed=seed, authors=20)

    def article(self, published_at: datetime | None = None) -> dict[str, Any]:
        article = self.generator.article(published_at)
        article["body"] = ""
        overhead = len(json.dumps(article, separators=(",", ":")).encode())
        room = max(16, self.record_bytes - overhead)
        body = self.generator.body()
        while len(body) < room:
            body += "\n\n" + self.generator.body()
        article["body"] = body[:room].rstrip() or "word"
        return article

    def records(self, count: int, published_at: datetime | None = None) -> list[Record]:
        from publisher.service import encode

        return [encode(self.article(published_at)) for _ in range(count)]


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


# --- memory: /proc readings of a process tree (psutil is not installed) -------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    tree = _children_map()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def proc_memory(pid: int, root: int | None = None) -> dict[str, Any] | None:
    """RSS, peak RSS (VmHWM) and PSS of one process; kind = jvm | python_driver | python_worker | other.

    python_worker covers every Python process Spark starts (pyspark.daemon and its forked
    workers, the streaming source runner, data source planning/commit workers). Forked workers
    share pages with their daemon, so sums use PSS (shared pages divided among sharers).
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    fields = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Name"):
            fields[key] = value.strip()
    if "VmRSS" not in fields:
        return None
    if fields.get("Name") == "java" or "/java " in cmdline or cmdline.startswith("java "):
        kind = "jvm"
    elif "pyspark" in cmdline:
        kind = "python_worker"
    elif pid == root:
        kind = "python_driver"
    else:
        kind = "other"
    pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {
        "pid": pid,
        "kind": kind,
        "rss_kb": int(fields["VmRSS"].split()[0]),
        "hwm_kb": int(fields.get("VmHWM", "0 kB").split()[0]),
        "pss_kb": pss,
        "cmd": cmdline[:120],
    }


def tree_memory(pid: int) -> list[dict[str, Any]]:
    return [m for m in (proc_memory(p, pid) for p in descendants(pid)) if m is not None]


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    log(f"wrote {path}")
