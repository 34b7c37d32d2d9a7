"""POST /articles against a real moto_server: UTF-8 records up to Kinesis' limit, per-article answers.

A partial failure comes from ``fault_proxy`` in front of moto: it answers a PutRecords the way a
throttled Kinesis does, storing some records and refusing the others.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fault_proxy import FaultProxy
from flask.testing import FlaskClient

from common.settings import AwsSettings
from ops.outputs import stream_records
from publisher.bootstrap import build
from publisher.settings import PublisherSettings

pytestmark = pytest.mark.integration
TOKEN = "a-token-nobody-guesses"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REFUSED_TITLE = "refused by the proxy"


def article(**fields: str) -> dict[str, str]:
    return {
        "article_id": str(uuid.uuid4()),
        "author": "Ada",
        "title": "A title",
        "body": "three words here",
        "published_at": "2026-01-01T00:00:00Z",
        **fields,
    }


@contextmanager
def api_for(endpoint: str, names: dict[str, str]) -> Iterator[FlaskClient]:
    """The publisher app on ``endpoint``, with POST /articles on; its generator publishes one article."""
    app = build(
        PublisherSettings.from_env(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "KINESIS_STREAM_NAME": names["stream"],
                "S3_BUCKET_NAME": names["bucket"],
                "PUBLISH_COUNT": "1",
                "PUBLISHER_API_TOKEN": TOKEN,
            }
        )
    )
    try:
        yield app.test_client()
    finally:
        app.extensions["publisher"].loop.stop(timeout=5)


@pytest.fixture
def http(moto_endpoint: str, names: dict[str, str]) -> Iterator[FlaskClient]:
    with api_for(moto_endpoint, names) as client:
        yield client


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    fault = FaultProxy(
        moto_endpoint,
        actions={"PutRecords"},
        fail_record=lambda data, _key: json.loads(data).get("title") == REFUSED_TITLE,
    ).start()
    yield fault
    fault.stop()


def stored_by_id(aws: AwsSettings, stream: str) -> dict[str, list[dict[str, Any]]]:
    """The stream's records by article_id (a list each, so a duplicate shows)."""
    stored: dict[str, list[dict[str, Any]]] = {}
    for record in stream_records(aws, stream):
        stored.setdefault(json.loads(record["Data"])["article_id"], []).append(record)
    return stored


def test_a_400_kb_non_ascii_body_is_published_as_utf8(http: FlaskClient, aws: AwsSettings, names: dict) -> None:
    # 200,000 two-byte characters: 400 KB in UTF-8, 1.2 MB as \u escapes (over Kinesis' 1 MiB a record).
    posted = article(body="é" * 200_000)
    response = http.post("/articles", json=posted, headers=AUTH)
    assert response.status_code == 202, response.get_json()
    [line] = response.get_json()["results"]
    [record] = stored_by_id(aws, names["stream"])[posted["article_id"]]
    assert line["status"] == "stored" and line["index"] == 0 and line["article_id"] == posted["article_id"]
    assert (line["shard_id"], line["sequence_number"]) == (record["ShardId"], record["SequenceNumber"])
    assert len(record["Data"]) < 401_000 and json.loads(record["Data"].decode("utf-8")) == posted


def test_an_oversized_article_is_refused_with_413_and_nothing_is_published(
    http: FlaskClient, aws: AwsSettings, names: dict
) -> None:
    fits, oversized = article(body="é" * 200_000), article(body="東" * 400_000)
    response = http.post("/articles", json=[fits, oversized], headers=AUTH)
    assert response.status_code == 413
    assert [entry["index"] for entry in response.get_json()["oversized"]] == [1]
    assert response.get_json()["limit_bytes"] == 1_048_576
    stored = stored_by_id(aws, names["stream"])
    assert fits["article_id"] not in stored and oversized["article_id"] not in stored


def test_a_partial_failure_names_what_was_stored_and_resending_the_rest_completes(
    proxy: FaultProxy, aws: AwsSettings, names: dict
) -> None:
    posted = [article(title=REFUSED_TITLE if index in (1, 3) else f"title {index}") for index in range(5)]
    with api_for(proxy.url, names) as http:
        proxy.mode = "partial"
        response = http.post("/articles", json=posted, headers=AUTH)
        assert response.status_code == 503
        answer = response.get_json()
        assert answer["failed"] == [1, 3] and answer["published"] == 3
        assert [line["status"] for line in answer["results"]] == ["stored", "failed", "stored", "failed", "stored"]
        assert [line["article_id"] for line in answer["results"]] == [a["article_id"] for a in posted]
        failed = [line for line in answer["results"] if line["status"] == "failed"]
        assert {line["error_code"] for line in failed} == {"ProvisionedThroughputExceededException"}
        assert "Rate exceeded" not in response.get_data(as_text=True), "Kinesis' ErrorMessage stays in the log"
        stored = stored_by_id(aws, names["stream"])
        for line in answer["results"]:
            if line["status"] == "stored":
                [record] = stored[line["article_id"]]
                assert (line["shard_id"], line["sequence_number"]) == (record["ShardId"], record["SequenceNumber"])
            else:
                assert line["article_id"] not in stored
        assert proxy.requests["partial"] >= 2, "the writer retried the refused records before answering"

        proxy.mode = "pass"
        resent = http.post("/articles", json=[posted[index] for index in answer["failed"]], headers=AUTH)
        assert resent.status_code == 202 and resent.get_json()["published"] == 2
        stored = stored_by_id(aws, names["stream"])
        assert all(len(stored[a["article_id"]]) == 1 for a in posted), "every article exactly once"
