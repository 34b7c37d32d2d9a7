"""publisher/files/: wait_for_aws.py (publisher and driver init containers) and helm_test.py (the
`helm test` pod), run against moto_server and a stand-in publisher."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from chart_helpers import (
    CHART,
    WAIT,
    create_stream,
    events,
    run,
)
from pipeline_testing import as_role

pytestmark = pytest.mark.chart


def test_wait_for_aws_copies_are_identical() -> None:
    assert (CHART / "charts" / "publisher" / "files" / "wait_for_aws.py").read_bytes() == WAIT.read_bytes()


def wait_env(endpoint: str, names: dict[str, str]) -> dict[str, str]:
    """wait_for_aws.py's environment: the test's stream and bucket, given up on after 1 s."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "WAIT_TIMEOUT_SECONDS": "1",
    }


def test_wait_for_aws(moto_endpoint: str, kinesis: Any, s3: Any, names: dict[str, str]) -> None:
    env = wait_env(moto_endpoint, names)
    missing = run(WAIT, env)
    assert missing.returncode == 1
    last = events(missing)[-1]
    assert last["event"] == "aws_resources_missing"
    assert any(names["stream"] in m for m in last["missing"]) and any(names["bucket"] in m for m in last["missing"])
    create_stream(kinesis, names["stream"])
    s3.create_bucket(Bucket=names["bucket"])
    ready = run(WAIT, env)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert events(ready)[-1]["event"] == "aws_resources_ready"


HELM_TEST = CHART / "charts" / "publisher" / "files" / "helm_test.py"
ROLE_ARN = "arn:aws:iam::111122223333:role/streams/article-reader"


@contextlib.contextmanager
def fake_publisher(articles_status: int) -> Iterator[str]:
    """An HTTP server answering GET /health with 200 and POST /articles with `articles_status`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(200 if self.path == "/health" else 404)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self._answer(articles_status if self.path == "/articles" and "Authorization" not in self.headers else 400)

        def _answer(self, status: int) -> None:
            body = json.dumps({"status": status}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("expected", "answer", "passes"),
    [("true", 401, True), ("true", 403, False), ("false", 403, True), ("false", 401, False)],
)
def test_helm_test_checks_whether_the_publisher_has_a_token(
    moto_endpoint: str, kinesis: Any, s3: Any, names: dict[str, str], expected: str, answer: int, passes: bool
) -> None:
    create_stream(kinesis, names["stream"])
    s3.create_bucket(Bucket=names["bucket"])
    with fake_publisher(answer) as url:
        env = {
            "PUBLISHER_URL": url,
            "API_TOKEN_EXPECTED": expected,
            "AWS_ENDPOINT_URL": moto_endpoint,
            "KINESIS_STREAM_NAME": names["stream"],
            "S3_BUCKET_NAME": names["bucket"],
            "TEST_TIMEOUT_SECONDS": "0",
        }
        result = run(HELM_TEST, env)
    assert (result.returncode == 0) is passes, result.stdout + result.stderr
    last = events(result)[-1]
    assert last["event"] == ("helm_test_passed" if passes else "helm_test_failed")
    if not passes:
        assert f"answered {answer}" in last["error"]


def test_wait_for_aws_and_helm_test_find_a_stream_of_another_account_as_the_role(
    moto_endpoint: str, s3: Any, names: dict[str, str]
) -> None:
    """With KINESIS_ROLE_ARN (global.aws.kinesisRoleArn) the stream is looked for as that role, in its
    account (moto keeps one per account); the bucket stays the pipeline's own."""
    create_stream(as_role(moto_endpoint, ROLE_ARN), names["stream"])
    s3.create_bucket(Bucket=names["bucket"])
    env = wait_env(moto_endpoint, names)
    own_account = run(WAIT, env)
    assert own_account.returncode == 1 and any(names["stream"] in m for m in events(own_account)[-1]["missing"])
    role = {**env, "KINESIS_ROLE_ARN": ROLE_ARN, "KINESIS_ROLE_EXTERNAL_ID": "pipeline-7f3a"}
    ready = run(WAIT, role)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert events(ready)[-1]["event"] == "aws_resources_ready"
    with fake_publisher(403) as url:
        tested = run(
            HELM_TEST, {**role, "PUBLISHER_URL": url, "API_TOKEN_EXPECTED": "false", "TEST_TIMEOUT_SECONDS": "0"}
        )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert events(tested)[-1]["event"] == "helm_test_passed"
