"""Integration fixtures: kinesis-local (kinesis-mock, the Kinesis engine LocalStack uses), pinned, on 127.0.0.1 only.

kinesis-mock hard-codes its listen host to 0.0.0.0; ``loopback_only.js`` is preloaded with
``node --require`` and rewrites every ``listen`` to 127.0.0.1 (the fixture checks that no
socket of the process is bound elsewhere). Installed by ``scripts/install-kinesis-local.sh``
into ``.tools/kinesis-local`` when missing (needs npm).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pipeline_testing import REPO, wait_until

from common.aws import client
from common.settings import AwsSettings
from ops.processes import free_port

PACKAGE = REPO / ".tools" / "kinesis-local" / "node_modules" / "kinesis-local"
HERE = Path(__file__).parent


def listening_addresses(pid: int) -> set[str]:
    """Local addresses of the TCP sockets ``pid`` listens on (from /proc, no extra tools)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    addresses = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                host_hex, port_hex = fields[1].split(":")
                if len(host_hex) == 8:
                    host = ".".join(str(int(host_hex[i : i + 2], 16)) for i in (6, 4, 2, 0))
                else:
                    host = "ipv6:" + host_hex
                addresses.add(f"{host}:{int(port_hex, 16)}")
    return addresses


@pytest.fixture(scope="session")
def kinesis_local_endpoint(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str) -> Iterator[str]:
    """URL of a kinesis-local started for this session (plain HTTP, 127.0.0.1)."""
    if not (PACKAGE / "main.js").exists():
        if shutil.which("npm") is None:
            pytest.skip("kinesis-local is not installed and npm is missing: run scripts/install-kinesis-local.sh")
        subprocess.run(["bash", str(REPO / "scripts" / "install-kinesis-local.sh")], check=True)
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
        "SPLIT_SHARD_DURATION": "100ms",
        "MERGE_SHARDS_DURATION": "100ms",
        "UPDATE_SHARD_COUNT_DURATION": "100ms",
        "DELETE_STREAM_DURATION": "100ms",
    }
    log = open(tmp_path_factory.mktemp("kinesis-local") / "kinesis-local.log", "wb")  # noqa: SIM115 - the child process owns the file
    process = subprocess.Popen(
        ["node", "--require", str(HERE / "loopback_only.js"), str(PACKAGE / "main.js")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=PACKAGE,
    )
    endpoint = f"http://127.0.0.1:{plain}"
    probe = client("kinesis", AwsSettings(region="us-east-1", endpoint_url=endpoint))

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"kinesis-local exited {process.returncode}")
        try:
            probe.list_streams()
            return True
        except Exception:
            return False

    try:
        wait_until(up, 60, "kinesis-local to answer")
        addresses = listening_addresses(process.pid)
        assert addresses == {f"127.0.0.1:{plain}", f"127.0.0.1:{tls}"}, f"kinesis-local listens on {addresses}"
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


@pytest.fixture(scope="session")
def kinesis_local(kinesis_local_endpoint: str) -> Any:
    return client("kinesis", AwsSettings(region="us-east-1", endpoint_url=kinesis_local_endpoint))


@pytest.fixture(params=["moto", "kinesis-local"])
def emulator(request: pytest.FixtureRequest) -> tuple[str, Any]:
    """(endpoint, Kinesis client) of each emulator in turn."""
    if request.param == "moto":
        return request.getfixturevalue("moto_endpoint"), request.getfixturevalue("kinesis")
    return request.getfixturevalue("kinesis_local_endpoint"), request.getfixturevalue("kinesis_local")
