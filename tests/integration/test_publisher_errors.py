"""Kinesis failures in the publisher's answers: codes only, the upstream text in the log (real moto_server).

botocore's messages name the endpoint and, on AWS, account ids and ARNs (moto's too: "Stream s under
account 123456789012 not found"); ``/health`` is open to anyone, so they must not reach answers.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from pipeline_testing import wait_until

from ops.processes import start_moto, stop_all
from publisher.bootstrap import build
from publisher.settings import PublisherSettings

pytestmark = pytest.mark.integration
TOKEN = "a-token-nobody-guesses"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MOTO_ACCOUNT = "123456789012"


@contextmanager
def publishing(endpoint: str, names: dict[str, str]) -> Iterator[FlaskClient]:
    """The publisher app on ``endpoint`` (POST /articles on), once its first articles are published."""
    settings = {
        "AWS_ENDPOINT_URL": endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "PUBLISH_RATE": "20",
        "PUBLISHER_API_TOKEN": TOKEN,
    }
    app = build(PublisherSettings.from_env(settings))
    http = app.test_client()
    try:
        wait_until(lambda: http.get("/health").get_json()["articles_published"], 20, "the first articles published")
        yield http
    finally:
        app.extensions["publisher"].loop.stop(timeout=1)


def failing_health(http: FlaskClient, code: str) -> dict[str, Any]:
    """The /health body once it answers 503 and the publishing loop's last call failed with ``code``.

    A call under way when the endpoint goes may fail otherwise first (a torn answer is ``kinesis_error``).
    """

    def reported() -> dict[str, Any] | None:
        response = http.get("/health")
        body: dict[str, Any] = response.get_json()
        return body if response.status_code == 503 and body["last_error"] == code else None

    found: dict[str, Any] = wait_until(reported, 20, "/health to report the failure")
    return found


def post_one(http: FlaskClient) -> tuple[int, dict[str, Any]]:
    article = {
        "article_id": str(uuid.uuid4()),
        "author": "Ada",
        "body": "three words here",
        "published_at": "2026-01-01T00:00:00Z",
    }
    response = http.post("/articles", json=article, headers=AUTH)
    return response.status_code, response.get_json()


def logged(text: str, event: str) -> list[dict[str, Any]]:
    """The JSON log lines of ``event`` in captured stderr ``text``."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and f'"{event}"' in line]


def assert_no_upstream_text(answer: Any, *leaks: str) -> None:
    text = json.dumps(answer)
    for leak in ("An error occurred", "under account", MOTO_ACCOUNT, "endpoint URL", *leaks):
        assert leak not in text, f"{leak!r} in an answer: {text}"


def test_a_deleted_stream_shows_as_its_aws_code_and_its_message_is_logged(
    moto_endpoint: str, kinesis: Any, names: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with publishing(moto_endpoint, names) as http:
        kinesis.delete_stream(StreamName=names["stream"])
        health = failing_health(http, "ResourceNotFoundException")
        status, posted = post_one(http)
    assert_no_upstream_text(health, moto_endpoint)
    assert_no_upstream_text(posted, moto_endpoint)
    assert health["last_error"] == health["stream_error"] == "ResourceNotFoundException"
    assert status == 503 and posted["results"][0]["error_code"] == "ResourceNotFoundException"
    assert "error_message" not in posted["results"][0]
    log = capsys.readouterr().err
    [probe] = logged(log, "stream_probe_failed")
    assert probe["code"] == "ResourceNotFoundException" and f"under account {MOTO_ACCOUNT} not found" in probe["error"]
    assert any(MOTO_ACCOUNT in line["error"] for line in logged(log, "put_records_retry"))


def test_an_unreachable_endpoint_shows_as_kinesis_unreachable_and_its_url_is_logged(
    names: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moto, endpoint = start_moto(str(tmp_path), os.environ)
    try:
        with publishing(endpoint, names) as http:
            moto.process.terminate()
            moto.process.wait(10)
            health = failing_health(http, "kinesis_unreachable")
            status, posted = post_one(http)
    finally:
        stop_all([moto], grace_seconds=1)
    host_port = endpoint.removeprefix("http://")
    assert_no_upstream_text(health, host_port)
    assert_no_upstream_text(posted, host_port)
    assert health["last_error"] == health["stream_error"] == "kinesis_unreachable"
    assert status == 503 and posted["results"][0]["error_code"] == "kinesis_unreachable"
    [probe] = logged(capsys.readouterr().err, "stream_probe_failed")
    assert probe["code"] == "kinesis_unreachable" and host_port in probe["error"]
