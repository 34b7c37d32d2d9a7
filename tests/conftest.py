"""Shared fixtures: a real moto_server (Kinesis + S3) on 127.0.0.1, AWS clients, one SparkSession, kinesis-local.

Tests talk to the emulator over HTTP, never to mocks of boto3. Each test gets its own
stream and bucket names so tests stay independent within one emulator process.

kinesis-local (kinesis-mock, the Kinesis engine LocalStack uses, and the emulator with enhanced
fan-out) is pinned and started on 127.0.0.1 only: kinesis-mock hard-codes its listen host to
0.0.0.0, so ``integration/loopback_only.js`` is preloaded with ``node --require`` and rewrites every
``listen`` to 127.0.0.1 (the fixture checks that no socket of the process is bound elsewhere). It is
installed by ``scripts/install-kinesis-local.sh`` into ``.tools/kinesis-local`` when missing (needs npm).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pipeline_testing import REPO, wait_until

from common.aws import client
from common.settings import AwsSettings
from ops.processes import free_port, start_moto, stop_all

TESTS = Path(__file__).parent
# Fast tiers first, then the chart tier, whose Go-built linters (.ci/run builds them in the
# background, minutes when cold) are ready by then; the kind tier last, so the image builds started
# in the background have the longest time to finish.
TIER_ORDER = ("unit", "integration", "e2e", "chart", "images", "kind")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the tests by tier; refuse a test whose folder (``tests/<tier>/``) is not its tier marker."""
    misplaced = [
        f"{item.nodeid}: in tests/{folder}/ but marked {marked}"
        for item in items
        if (marked := [m for m in TIER_ORDER if item.get_closest_marker(m)])
        != [folder := item.path.relative_to(TESTS).parts[0]]
    ]
    if misplaced:
        raise pytest.UsageError("test folder = tier marker:\n" + "\n".join(misplaced))

    def tier(item: pytest.Item) -> int:
        return next(
            (rank for rank, marker in enumerate(TIER_ORDER) if item.get_closest_marker(marker)), len(TIER_ORDER)
        )

    items.sort(key=tier)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a moto_server started for this test session (dummy credentials in os.environ)."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "SPARK_LOCAL_IP": "127.0.0.1",
        }
    )
    child, endpoint = start_moto(str(tmp_path_factory.mktemp("moto")), os.environ)
    yield endpoint
    stop_all([child], grace_seconds=10)


@pytest.fixture(scope="session")
def aws(moto_endpoint: str) -> AwsSettings:
    return AwsSettings(region="us-east-1", endpoint_url=moto_endpoint)


@pytest.fixture(scope="session")
def kinesis(aws: AwsSettings) -> Any:
    return client("kinesis", aws)


@pytest.fixture(scope="session")
def s3(aws: AwsSettings) -> Any:
    return client("s3", aws)


@pytest.fixture
def names() -> dict[str, str]:
    """Fresh stream and bucket names for one test."""
    suffix = uuid.uuid4().hex[:10]
    return {"stream": f"articles-{suffix}", "bucket": f"bucket-{suffix}"}


@pytest.fixture(scope="session")
def spark(aws: AwsSettings) -> Iterator[Any]:
    """One local SparkSession (Delta + S3A on the session's moto) for the whole test session."""
    from jobs.kinesis.source import KinesisDataSource
    from jobs.spark_session import build_session

    session = build_session(
        "article-pipeline-tests", aws, master="local[2]", shuffle_partitions=2, ui=False, log_level="ERROR"
    )
    session.dataSource.register(KinesisDataSource)
    yield session
    session.stop()


PACKAGE = REPO / ".tools" / "kinesis-local" / "node_modules" / "kinesis-local"
LOOPBACK_ONLY = TESTS / "integration" / "loopback_only.js"


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
        ["node", "--require", str(LOOPBACK_ONLY), str(PACKAGE / "main.js")],
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
