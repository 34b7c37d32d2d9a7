"""kinesis-local (kinesis-mock 0.6.2, the Kinesis engine LocalStack uses) on a free 127.0.0.1 port.

For the tests (fixture ``kinesis_local_endpoint``) and the bench's enhanced fan-out figure: moto has
no ``SubscribeToShard``, kinesis-local has.
``scripts/install-kinesis-local.sh`` installs it into ``.tools/kinesis-local`` (needs npm). Its
listen host is hard-coded to 0.0.0.0: ``tests/integration/loopback_only.js`` is preloaded with
``node --require`` and rewrites every ``listen`` to 127.0.0.1, and ``start`` checks from /proc that
the process listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from common.aws import client
from common.settings import AwsSettings
from ops.processes import Child, die_with_parent, free_port, stop_all

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / ".tools" / "kinesis-local" / "node_modules" / "kinesis-local"
LOOPBACK_ONLY = REPO / "tests" / "integration" / "loopback_only.js"


def version() -> str | None:
    """The installed kinesis-local's version, None when it is not installed."""
    manifest = PACKAGE / "package.json"
    return str(json.loads(manifest.read_text())["version"]) if manifest.exists() else None


def listening_hosts(pid: int) -> set[str]:
    """The local addresses (host only) of the TCP sockets ``pid`` listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    hosts = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                host_hex = fields[1].split(":")[0]
                hosts.add(
                    ".".join(str(int(host_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
                    if len(host_hex) == 8
                    else f"ipv6:{host_hex}"
                )
    return hosts


@dataclass
class KinesisLocal:
    """A kinesis-local started by ``start`` (stop it with ``stop``)."""

    endpoint: str
    child: Child

    @property
    def aws(self) -> AwsSettings:
        return AwsSettings(region="us-east-1", endpoint_url=self.endpoint)

    @classmethod
    def start(cls, work_dir: Path, timeout_seconds: float = 60) -> KinesisLocal:
        """Install it if missing, start it (log ``<work_dir>/kinesis-local.log``), wait until it answers."""
        if not (PACKAGE / "main.js").exists():
            subprocess.run(["bash", str(REPO / "scripts" / "install-kinesis-local.sh")], check=True)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")  # the emulator accepts any key; boto3 needs one
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        plain, tls = free_port(), free_port()
        env = {
            **os.environ,
            "KINESIS_MOCK_PLAIN_PORT": str(plain),
            "KINESIS_MOCK_TLS_PORT": str(tls),
            "KINESIS_MOCK_CERT_PATH": str(PACKAGE / "server.json"),
            "LOG_LEVEL": "WARN",
            "ROOT_LOG_LEVEL": "ERROR",
            "SHOULD_PERSIST_DATA": "false",
            "CREATE_STREAM_DURATION": "100ms",
            "DELETE_STREAM_DURATION": "100ms",
            "SPLIT_SHARD_DURATION": "100ms",
            "MERGE_SHARDS_DURATION": "100ms",
            "UPDATE_SHARD_COUNT_DURATION": "100ms",
            "REGISTER_STREAM_CONSUMER_DURATION": "100ms",
            "DEREGISTER_STREAM_CONSUMER_DURATION": "100ms",
        }
        command = ["node", "--require", str(LOOPBACK_ONLY), str(PACKAGE / "main.js")]
        log_path = work_dir / "kinesis-local.log"
        with log_path.open("ab") as output:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=PACKAGE,  # kinesis-local reads its files relative to its folder
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,  # noqa: PLW1509 - async-signal-safe calls only (ops.processes)
            )
        child = Child("kinesis-local", process, str(log_path))
        local = cls(f"http://127.0.0.1:{plain}", child)
        probe = client("kinesis", local.aws)
        deadline = time.monotonic() + timeout_seconds
        while True:
            if child.process.poll() is not None:
                raise RuntimeError(f"kinesis-local exited {child.process.returncode}; see {child.log_path}")
            try:
                probe.list_streams()
                break
            except Exception:
                if time.monotonic() > deadline:
                    local.stop()
                    raise
                time.sleep(0.5)
        hosts = listening_hosts(child.process.pid)
        if hosts != {"127.0.0.1"}:
            local.stop()
            raise RuntimeError(f"kinesis-local listens on {hosts}, not on 127.0.0.1 only")
        return local

    def stop(self) -> None:
        """Stop kinesis-local (5 s grace)."""
        stop_all([self.child], grace_seconds=5)
