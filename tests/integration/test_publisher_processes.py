"""Publisher processes against a real moto_server: ids unique across processes, SIGTERM loses nothing.

The SIGTERM test runs the container image's own command (the CMD of images/publisher/Dockerfile)
from this checkout, so a flag there that cuts the flush short fails it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from fault_proxy import FaultProxy
from pipeline_testing import REPO, create_stream, wait_until

from common.settings import AwsSettings
from ops.outputs import stream_records
from ops.processes import Child, free_port, start, stop_all

pytestmark = pytest.mark.integration


def health(child: Child, bind: str) -> dict[str, Any]:
    """The publisher's /health body, 200 or 503; empty while it does not answer; fails if it exited."""
    if child.process.poll() is not None:
        raise AssertionError(f"{child.name} exited with {child.process.returncode}:\n{log_tail(child)}")
    try:
        with urlopen(f"http://{bind}/health", timeout=2) as response:
            body: dict[str, Any] = json.load(response)
    except HTTPError as error:
        body = json.load(error)
    except OSError:
        body = {}
    return body


def image_command(bind: str) -> list[str]:
    """The publisher image's CMD with its bind address replaced, run with this venv's executables."""
    dockerfile = (REPO / "images" / "publisher" / "Dockerfile").read_text().replace("\\\n", " ")
    command: list[str] = json.loads(next(line for line in dockerfile.splitlines() if line.startswith("CMD "))[4:])
    command[command.index("--bind") + 1] = bind
    command[0] = str(Path(sys.executable).parent / command[0])
    return command


def publisher_env(endpoint: str, names: dict[str, str], **settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "PYTHONPATH": str(REPO),
        **settings,
    }


def log_tail(child: Child) -> str:
    return Path(child.log_path).read_text()[-3000:]


def last_event(child: Child, event: str) -> dict[str, Any] | None:
    lines = Path(child.log_path).read_text().splitlines()
    found = [json.loads(line) for line in lines if line.startswith("{") and f'"event": "{event}"' in line]
    return found[-1] if found else None


def test_two_processes_with_one_seed_publish_the_same_content_under_different_ids(
    moto_endpoint: str, kinesis: Any, aws: AwsSettings, names: dict, tmp_path: Path
) -> None:
    create_stream(kinesis, names["stream"], 2)
    env = publisher_env(moto_endpoint, names, PUBLISH_RATE="50", PUBLISH_COUNT="20", PUBLISHER_SEED="11")
    binds = [f"127.0.0.1:{free_port()}" for _ in range(2)]
    children = [
        start(f"publisher-{n}", [sys.executable, "-m", "publisher"], {**env, "PUBLISHER_BIND": bind}, str(tmp_path))
        for n, bind in enumerate(binds)
    ]
    try:
        wait_until(
            lambda: all(health(child, bind).get("done") for child, bind in zip(children, binds, strict=True)),
            60,
            "both publishers done",
        )
    finally:
        stop_all(children, grace_seconds=20)
    articles = [json.loads(record["Data"]) for record in stream_records(aws, names["stream"])]
    assert len(articles) == 40
    contents = Counter((a["title"], a["author"], a["body"], a["category"]) for a in articles)
    assert set(contents.values()) == {2}, "one seed, the same 20 articles' content in each process"
    assert len({a["article_id"] for a in articles}) == 40, "article_ids repeat across processes with one seed"


def test_sigterm_flushes_every_buffered_article_through_a_slow_kinesis(
    moto_endpoint: str, aws: AwsSettings, names: dict, tmp_path: Path
) -> None:
    proxy = FaultProxy(moto_endpoint, delay_seconds=2.0, actions={"PutRecords"}).start()
    bind = f"127.0.0.1:{free_port()}"
    child = start("publisher", image_command(bind), publisher_env(proxy.url, names, PUBLISH_RATE="100"), str(tmp_path))
    try:
        wait_until(lambda: health(child, bind).get("articles_published"), 60, "the first articles published")
        proxy.mode = "slow"  # every PutRecords now takes 2 s more
        wait_until(
            lambda: proxy.requests["slow"] and health(child, bind).get("articles_buffered", 0) >= 100,
            30,
            "articles buffered behind a slow Kinesis",
        )
        child.process.send_signal(signal.SIGTERM)
        assert child.process.wait(60) == 0
    finally:
        stop_all([child], grace_seconds=1)
        proxy.stop()
    stopped = last_event(child, "publisher_stopped")
    assert stopped is not None, "the worker was killed before its flush ended:\n" + log_tail(child)
    assert stopped["unsent"] == 0 and proxy.requests["slow"] >= 2
    ids = [json.loads(record["Data"])["article_id"] for record in stream_records(aws, names["stream"])]
    assert len(ids) == len(set(ids)) == stopped["generated"], "every accepted article is in the stream, once"
