"""A stream in another account: Kinesis called as an assumed role (``KINESIS_ROLE_ARN``), against moto_server.

moto keeps one set of resources per account and answers a request signed with AssumeRole's
credentials in the role's account: a stream created as the role is not in the tests' own
account (123456789012), as on AWS. A recording ``FaultProxy`` in front of moto (all services,
``AWS_ENDPOINT_URL``) shows what went over HTTP: the AssumeRole requests and the credentials
each Kinesis request was signed with.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import boto3
import pytest
from fault_proxy import FaultProxy
from pipeline_testing import as_role, create_stream, wait_until
from source_testing import drain

from common.aws import client
from common.settings import AwsSettings
from jobs.settings import JobSettings
from publisher.bootstrap import build
from publisher.settings import PublisherSettings

pytestmark = pytest.mark.integration

OTHER_ACCOUNT = "111122223333"
ROLE_ARN = f"arn:aws:iam::{OTHER_ACCOUNT}:role/streams/article-reader"
EXTERNAL_ID = "pipeline-7f3a"
_SIGNED_WITH = re.compile(r"Credential=([A-Z0-9]+)/")


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    """A recording pass-through proxy in front of moto."""
    proxy = FaultProxy(moto_endpoint, record=True).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def session_name() -> str:
    """A session name of its own per test: each test starts without credentials cached for its role."""
    return f"test-{uuid.uuid4().hex[:12]}"


def role_env(endpoint: str, names: dict[str, str], session_name: str, **more: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "KINESIS_ROLE_ARN": ROLE_ARN,
        "KINESIS_ROLE_EXTERNAL_ID": EXTERNAL_ID,
        "KINESIS_ROLE_SESSION_NAME": session_name,
        **more,
    }


def assume_role_requests(proxy: FaultProxy) -> list[dict[str, str]]:
    """The AssumeRole requests that went through ``proxy``, as their form fields."""
    forms = [{k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()} for _, body in proxy.seen]
    return [form for form in forms if form.get("Action") == "AssumeRole"]


def kinesis_signers(proxy: FaultProxy) -> list[str]:
    """The access key id each Kinesis request through ``proxy`` was signed with, in order."""
    return [
        match.group(1)
        for headers, _ in proxy.seen
        if headers.get("X-Amz-Target", "").startswith("Kinesis_")
        and (match := _SIGNED_WITH.search(headers.get("Authorization", "")))
    ]


def other_account_kinesis(moto_endpoint: str) -> Any:
    """A Kinesis client in the role's account, made with boto3 alone (not with the code under test)."""
    return as_role(moto_endpoint, ROLE_ARN)


def test_kinesis_client_calls_moto_as_the_assumed_role_with_the_external_id(
    moto_endpoint: str, kinesis: Any, proxy: FaultProxy, names: dict[str, str], session_name: str
) -> None:
    create_stream(other_account_kinesis(moto_endpoint), names["stream"], 1)
    aws = PublisherSettings.from_env(role_env(proxy.url, names, session_name)).aws
    role_kinesis = client("kinesis", aws)

    assert names["stream"] in role_kinesis.list_streams()["StreamNames"], "the client works in the role's account"
    assert names["stream"] not in kinesis.list_streams()["StreamNames"], "which is not the tests' own account"
    [assumed] = assume_role_requests(proxy)
    assert assumed["RoleArn"] == ROLE_ARN and assumed["RoleSessionName"] == session_name
    assert assumed["ExternalId"] == EXTERNAL_ID and assumed["DurationSeconds"] == "3600"
    [signer] = kinesis_signers(proxy)
    assert signer.startswith("ASIA"), "Kinesis was called with AssumeRole's temporary credentials"

    # Those credentials are the assumed role's, as moto's STS says when asked with them.
    from common.aws import role_credentials

    frozen = role_credentials(aws.kinesis_role, aws.region, aws.endpoint_for("sts")).get_frozen_credentials()
    assert frozen.access_key == signer
    identity = boto3.client(
        "sts",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id=frozen.access_key,
        aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token,
    ).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/article-reader/{session_name}"

    # S3 stays in the pipeline's own account, with its own credentials.
    client("s3", aws).create_bucket(Bucket=names["bucket"])
    assert len(assume_role_requests(proxy)) == 1
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").head_bucket(Bucket=names["bucket"])


def test_the_role_is_assumed_once_per_process_and_again_near_expiry(
    moto_endpoint: str, proxy: FaultProxy, names: dict[str, str], session_name: str
) -> None:
    """An hour's credentials are shared by every client and reused; 15-minute ones sit inside
    botocore's advisory refresh window (15 minutes before expiry), so each use renews them."""
    from common.settings import KinesisRole

    create_stream(other_account_kinesis(moto_endpoint), names["stream"], 1)
    hour = KinesisRole(ROLE_ARN, session_name, EXTERNAL_ID)
    aws = AwsSettings(region="us-east-1", endpoint_url=moto_endpoint, sts_endpoint_url=proxy.url, kinesis_role=hour)
    for _ in range(3):
        kinesis = client("kinesis", aws)
        for _ in range(2):
            kinesis.describe_stream_summary(StreamName=names["stream"])
    assert len(assume_role_requests(proxy)) == 1, "six calls from three clients: one AssumeRole"

    proxy.seen.clear()
    near_expiry = KinesisRole(ROLE_ARN, f"{session_name}-900", EXTERNAL_ID, duration_seconds=900)
    aws = AwsSettings(region="us-east-1", endpoint_url=proxy.url, kinesis_role=near_expiry)
    kinesis = client("kinesis", aws)
    kinesis.describe_stream_summary(StreamName=names["stream"])
    assumed = len(assume_role_requests(proxy))
    kinesis.describe_stream_summary(StreamName=names["stream"])
    requests = assume_role_requests(proxy)
    assert len(requests) > assumed >= 1, "refreshed for the second call"
    assert {r["DurationSeconds"] for r in requests} == {"900"}
    first, second = kinesis_signers(proxy)
    assert first.startswith("ASIA") and second.startswith("ASIA") and first != second, "signed with the new ones"


def test_publisher_puts_into_the_stream_of_the_other_account(
    moto_endpoint: str, kinesis: Any, s3: Any, proxy: FaultProxy, names: dict[str, str], session_name: str
) -> None:
    env = role_env(proxy.url, names, session_name, PUBLISH_COUNT="20", PUBLISH_RATE="200", KINESIS_SHARD_COUNT="1")
    app = build(PublisherSettings.from_env(env))
    http = app.test_client()
    wait_until(lambda: http.get("/health").get_json()["done"], 30, "20 articles published")
    app.extensions["publisher"].loop.stop()

    other = other_account_kinesis(moto_endpoint)
    [shard] = other.list_shards(StreamName=names["stream"])["Shards"]
    iterator = other.get_shard_iterator(
        StreamName=names["stream"], ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = other.get_records(ShardIterator=iterator, Limit=100)["Records"]
    assert len({json.loads(r["Data"])["article_id"] for r in records}) == 20, "created and written as the role"
    assert names["stream"] not in kinesis.list_streams()["StreamNames"], "nothing in the publisher's own account"
    s3.head_bucket(Bucket=names["bucket"])  # the bucket is the pipeline's own
    assert {r["RoleSessionName"] for r in assume_role_requests(proxy)} == {session_name}
    assert all(signer.startswith("ASIA") for signer in kinesis_signers(proxy))


def test_source_reads_the_stream_of_the_other_account(
    spark: Any, moto_endpoint: str, proxy: FaultProxy, names: dict[str, str], session_name: str, tmp_path: Path
) -> None:
    """The role travels to the executors in the source's options; each Python worker assumes it
    once, not once per batch."""
    other = other_account_kinesis(moto_endpoint)
    create_stream(other, names["stream"], 2)
    records = [{"Data": json.dumps({"n": n}).encode(), "PartitionKey": f"key-{n}"} for n in range(200)]
    assert other.put_records(StreamName=names["stream"], Records=records)["FailedRecordCount"] == 0
    settings = JobSettings.from_env(
        role_env(moto_endpoint, names, session_name, AWS_ENDPOINT_URL_STS=proxy.url, CHECKPOINT_LOCATION=str(tmp_path))
    )
    options = {**settings.source_options("articles"), "maxRecordsPerShard": "5"}
    options.pop("positionLog")

    rows = drain(spark, moto_endpoint, names["stream"], tmp_path, **options)

    assert sorted(json.loads(bytes(row["data"]))["n"] for row in rows) == list(range(200))
    batches = len({row["batch"] for row in rows})
    assert batches >= 20, "5 records per shard per batch"
    assumed = assume_role_requests(proxy)
    assert {(r["RoleArn"], r["RoleSessionName"], r["ExternalId"]) for r in assumed} == {
        (ROLE_ARN, session_name, EXTERNAL_ID)
    }
    # Once per Python process (the planner and each reused worker; 3 to 5 measured): not per batch,
    # let alone per task.
    assert 1 <= len(assumed) <= 8 < batches, f"{len(assumed)} AssumeRole calls for {batches} batches"
