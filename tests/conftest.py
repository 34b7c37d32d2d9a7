"""Shared fixtures: a real moto_server (Kinesis + S3) on 127.0.0.1, AWS clients, one SparkSession.

Tests talk to the emulator over HTTP, never to mocks of boto3. Each test gets its own
stream and bucket names so tests stay independent within one emulator process.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from common.aws import client
from common.settings import AwsSettings
from ops.processes import start_moto, stop_all


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
def spark(moto_endpoint: str) -> Iterator[Any]:
    """One local SparkSession for the whole test session, with the project's data sources."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    from jobs.pipeline import register_data_sources

    session = (
        SparkSession.builder.master("local[2]")
        .appName("article-pipeline-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    register_data_sources(session)
    yield session
    session.stop()
