"""The ``moto_server`` (Kinesis + S3) a benchmark run starts on a free 127.0.0.1 port, and its streams and buckets.

Nothing here binds anything but ``moto_server``.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.process_tree import tree_cpu_seconds
from bench.progress import log
from common.aws import client, wait_for_stream_active
from common.settings import AwsSettings
from ops.processes import Child, start_moto, stop_all


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
        """Start ``moto_server`` (its log in ``work_dir``), with test credentials in this process's environment."""
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
        """Stop ``moto_server`` (5 s grace)."""
        stop_all([self.child], grace_seconds=5)

    def cpu_seconds(self) -> float:
        """CPU time moto_server has used so far (user + system): it shares the machine's cores."""
        return tree_cpu_seconds(self.child.process.pid)

    def create_stream(self, shards: int, prefix: str = "bench") -> str:
        """A new active stream of ``shards`` shards named ``<prefix>-<random>``."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.kinesis.create_stream(StreamName=name, ShardCount=shards)
        wait_for_stream_active(self.kinesis, name, 30)
        return name

    def delete_stream(self, name: str) -> None:
        """Free moto's memory (it keeps every record; a grown shard slows it down)."""
        with contextlib.suppress(Exception):  # best effort
            self.kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)

    def create_bucket(self, prefix: str = "bench") -> str:
        """A new bucket named ``<prefix>-<random>``."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.s3.create_bucket(Bucket=name)
        return name

    def shard_ids(self, stream: str) -> list[str]:
        """The ids of ``stream``'s shards."""
        return [s["ShardId"] for s in self.kinesis.list_shards(StreamName=stream)["Shards"]]
