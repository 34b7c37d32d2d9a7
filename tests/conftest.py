"""Shared fixtures: a real moto_server (Kinesis + S3) on 127.0.0.1, AWS clients, one SparkSession.

Tests talk to the emulator over HTTP, never to mocks of boto3. Each test gets its own
stream and bucket names so tests stay independent within one emulator process.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from common.aws import client
from common.settings import AwsSettings
from ops.processes import free_port, wait_for_http

REPO = Path(__file__).resolve().parents[1]


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    """Poll ``condition`` until it returns a truthy value; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def start_moto(log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    wait_for_http(f"{endpoint}/moto-api/", 30)
    return process, endpoint


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a moto_server started for this test session (dummy credentials in os.environ)."""
    os.environ.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
                       "AWS_DEFAULT_REGION": "us-east-1", "SPARK_LOCAL_IP": "127.0.0.1"})
    process, endpoint = start_moto(tmp_path_factory.mktemp("moto") / "moto.log")
    yield endpoint
    process.terminate()
    process.wait(10)


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


def create_stream(kinesis: Any, name: str, shards: int) -> list[str]:
    """Create a stream, wait for ACTIVE, return its shard ids."""
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    wait_until(lambda: kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
               == "ACTIVE", 30, f"stream {name} ACTIVE")
    return [shard["ShardId"] for shard in kinesis.list_shards(StreamName=name)["Shards"]]


@pytest.fixture(scope="session")
def spark(moto_endpoint: str) -> Iterator[Any]:
    """One local SparkSession for the whole test session, with the project's data sources."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    from jobs.pipeline import register_data_sources

    session = SparkSession.builder.master("local[2]").appName("article-pipeline-tests") \
        .config("spark.sql.session.timeZone", "UTC").config("spark.sql.shuffle.partitions", "2") \
        .config("spark.ui.enabled", "false").getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    register_data_sources(session)
    yield session
    session.stop()
