"""The publisher against a real moto_server: records arrive, failures retry, health tells the truth."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pipeline_testing import REPO, wait_until

from common.aws import client
from common.settings import AwsSettings
from ops.outputs import stream_records
from ops.processes import free_port, start_moto, stop_all
from publisher.bootstrap import build
from publisher.kinesis_writer import KinesisWriter, Record
from publisher.settings import PublisherSettings

pytestmark = pytest.mark.integration


class FlakyKinesis:
    """The real moto client, except that the first calls report some records as failed.

    This is the project's fault injection for the publisher: moto never throttles, so a
    PutRecords response with per-record ErrorCodes is produced here, around a real call.
    """

    def __init__(self, real: Any, fail_every: int, failing_calls: int) -> None:
        self.real = real
        self.fail_every = fail_every
        self.failing_calls = failing_calls
        self.calls = 0

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        if self.calls > self.failing_calls:
            return self.real.put_records(StreamName=StreamName, Records=Records)
        kept = [r for i, r in enumerate(Records) if i % self.fail_every]
        response = self.real.put_records(StreamName=StreamName, Records=kept) if kept else {"Records": []}
        results = iter(response["Records"])
        return {
            "FailedRecordCount": len(Records) - len(kept),
            "Records": [
                next(results)
                if i % self.fail_every
                else {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded for shard"}
                for i in range(len(Records))
            ],
        }


def settings_for(endpoint: str, names: dict, **overrides: Any) -> PublisherSettings:
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "PUBLISH_RATE": "200",
        "PUBLISHER_SEED": "5",
        **{k: str(v) for k, v in overrides.items()},
    }
    return PublisherSettings.from_env(env)


def test_only_failed_records_are_retried_and_all_arrive(aws: AwsSettings, kinesis: Any, names: dict) -> None:
    from pipeline_testing import create_stream

    create_stream(kinesis, names["stream"], 2)
    flaky = FlakyKinesis(kinesis, fail_every=3, failing_calls=2)
    writer = KinesisWriter(flaky, names["stream"], sleep=lambda _s: None)
    records = [Record(f"key-{i}", json.dumps({"i": i}).encode()) for i in range(1_200)]
    assert writer.put(records) == []
    stored = sorted(json.loads(r["Data"])["i"] for r in stream_records(aws, names["stream"]))
    assert stored == list(range(1_200)), "every record exactly once: only the failed ones were re-sent"
    # 1,200 records = calls of 500, 500, 200; the first two calls fail every third record (167 each).
    assert writer.stats.retried == 334 and writer.stats.throttled == 334
    assert writer.stats.published == 1_200


def test_app_creates_resources_publishes_and_flushes_on_stop(
    moto_endpoint: str, aws: AwsSettings, s3: Any, names: dict
) -> None:
    app = build(settings_for(moto_endpoint, names, PUBLISH_COUNT=150, KINESIS_SHARD_COUNT=3))
    loop = app.extensions["publisher"].loop
    http = app.test_client()
    wait_until(lambda: http.get("/health").get_json()["done"], 30, "150 articles published")
    health = http.get("/health")
    assert health.status_code == 200
    body = health.get_json()
    assert body["status"] == "ok" and body["articles_published"] == 150 and body["last_publish_time"]
    assert http.get("/health/live").status_code == 200
    metrics = http.get("/metrics").get_data(as_text=True)
    assert "articles_published_total 150.0" in metrics and "put_records_seconds_bucket" in metrics
    loop.stop()
    ids = [json.loads(r["Data"])["article_id"] for r in stream_records(aws, names["stream"])]
    assert len(ids) == len(set(ids)) == 150
    assert len(client("kinesis", aws).list_shards(StreamName=names["stream"])["Shards"]) == 3
    s3.head_bucket(Bucket=names["bucket"])
    # Idempotent: a second app on the same stream and bucket starts without error.
    build(settings_for(moto_endpoint, names, PUBLISH_COUNT=1)).extensions["publisher"].loop.stop()


def test_health_turns_503_when_kinesis_goes_away_and_nothing_is_lost(names: dict, tmp_path: Path) -> None:
    moto, endpoint = start_moto(str(tmp_path), os.environ)
    try:
        app = build(settings_for(endpoint, names, PUBLISH_RATE=20))
        http = app.test_client()
        wait_until(lambda: http.get("/health").get_json()["articles_published"] > 0, 20, "first publish")
        assert http.get("/health").status_code == 200
        moto.process.terminate()
        moto.process.wait(10)
        response = wait_until(lambda: (r := http.get("/health")).status_code == 503 and r, 20, "503 from /health")
        assert response.get_json()["stream_reachable"] is False
        assert http.get("/health/live").status_code == 200, "liveness must not fail because Kinesis is down"
        loop = app.extensions["publisher"].loop
        wait_until(lambda: loop.buffered > 0, 10, "articles kept in the buffer while Kinesis is down")
        loop.stop(timeout=5)
        assert loop.buffered > 0
        assert loop.generated == loop.writer.stats.published + loop.buffered, "nothing dropped"
    finally:
        app.extensions["publisher"].loop.stop(timeout=1)
        stop_all([moto], grace_seconds=1)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PUBLISH_RATE": "0"}, "PUBLISH_RATE"),
        ({"AWS_REGION": "nowhere"}, "AWS_REGION"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "PUBLISHER_STARTUP_TIMEOUT": "1 second"}, "AWS_ENDPOINT_URL"),
    ],
)
def test_service_fails_fast_naming_the_setting(env: dict, named: str, names: dict) -> None:
    full = {
        **os.environ,
        "KINESIS_STREAM_NAME": names["stream"],
        "PUBLISHER_BIND": f"127.0.0.1:{free_port()}",
        "PYTHONPATH": str(REPO),
        **env,
    }
    result = subprocess.run(
        [sys.executable, "-m", "publisher"], env=full, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert named in result.stderr


def test_gunicorn_service_stops_on_sigterm_after_flushing(
    moto_endpoint: str, aws: AwsSettings, names: dict, tmp_path: Path
) -> None:
    bind = f"127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "PUBLISH_RATE": "100",
        "PUBLISHER_BIND": bind,
        "PYTHONPATH": str(REPO),
    }
    log = tmp_path / "publisher.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "publisher"], env=env, cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    from urllib.request import urlopen

    wait_until(lambda: _published(urlopen, bind) > 50, 60, "publishing through gunicorn")
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    stopped = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if line.startswith("{") and '"publisher_stopped"' in line
    ]
    assert stopped and stopped[-1]["unsent"] == 0
    assert len(list(stream_records(aws, names["stream"]))) == stopped[-1]["published"]


def _published(urlopen: Any, bind: str) -> int:
    try:
        return json.load(urlopen(f"http://{bind}/health", timeout=2))["articles_published"]
    except OSError:
        return 0
