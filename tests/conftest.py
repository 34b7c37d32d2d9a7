"""Shared fixtures: a real moto_server (Kinesis + S3) on 127.0.0.1, AWS clients, one SparkSession, kinesis-local.

Tests talk to the emulator over HTTP, never to mocks of boto3. Each test gets its own
stream and bucket names so tests stay independent within one emulator process.

kinesis-local (kinesis-mock, the Kinesis engine LocalStack uses, and the emulator with enhanced
fan-out) is pinned and started on 127.0.0.1 only by ``ops.kinesis_local``, installed by
``scripts/install-kinesis-local.sh`` into ``.tools/kinesis-local`` when missing (needs npm).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.aws import client
from common.settings import AwsSettings
from ops.kinesis_local import PACKAGE, KinesisLocal
from ops.processes import start_moto, stop_all

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


@pytest.fixture(scope="session")
def kinesis_local_endpoint(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str) -> Iterator[str]:
    """URL of a kinesis-local started for this session (plain HTTP, 127.0.0.1 only: ``ops.kinesis_local``)."""
    if not (PACKAGE / "main.js").exists() and shutil.which("npm") is None:
        pytest.skip("kinesis-local is not installed and npm is missing: run scripts/install-kinesis-local.sh")
    local = KinesisLocal.start(tmp_path_factory.mktemp("kinesis-local"))
    yield local.endpoint
    local.stop()


@pytest.fixture(scope="session")
def kinesis_local(kinesis_local_endpoint: str) -> Any:
    return client("kinesis", AwsSettings(region="us-east-1", endpoint_url=kinesis_local_endpoint))
