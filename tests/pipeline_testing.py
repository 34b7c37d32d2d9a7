"""Helpers shared by the test tiers (importable as ``pipeline_testing``; conftest holds fixtures)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.aws import wait_for_stream_active
from common.settings import AwsSettings
from jobs.settings import JobSettings

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


def create_stream(kinesis: Any, name: str, shards: int) -> list[str]:
    """Create a stream, wait for ACTIVE, return its shard ids."""
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    wait_for_stream_active(kinesis, name, 30)
    return [shard["ShardId"] for shard in kinesis.list_shards(StreamName=name)["Shards"]]


def as_role(endpoint: str, role_arn: str, service: str = "kinesis") -> Any:
    """A boto3 client of ``service`` signed with ``role_arn``'s credentials from the emulator's STS AssumeRole.

    Made with boto3 alone, not the code under test. moto answers it in the role's account (a stream
    created with it is not in the tests' own account, 123456789012), as AWS would.
    """
    import boto3

    sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1")
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="test-setup")["Credentials"]
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def pinned_pyspark() -> str:
    """The pyspark version pyproject.toml pins for the job (what images and charts must carry)."""
    import tomllib

    job = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["job"]
    return next(requirement.split("==")[1] for requirement in job if requirement.startswith("pyspark=="))


def processes_with_state_dir(state_dir: Path) -> list[int]:
    """Pids whose environment carries this run's STATE_DIR: everything ``make run`` started inherits it."""
    marker = f"STATE_DIR={state_dir}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if marker in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                    found.append(int(entry))
            except OSError:
                continue
    return found


def job_settings(aws: AwsSettings, stream: str, bucket: str, **environ: str) -> JobSettings:
    """The job's settings for ``stream`` and ``bucket`` on ``aws``, other settings from ``environ`` or defaults."""
    env = {"AWS_REGION": aws.region, "KINESIS_STREAM_NAME": stream, "S3_BUCKET_NAME": bucket, **environ}
    return dataclasses.replace(JobSettings.from_env(env), aws=aws)


def process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


@dataclasses.dataclass
class KilledJobRuns:
    """Runs of the job (``jobs/process_articles.py``) with ``env``, each SIGKILLed once a condition holds.

    The whole process group is killed, as a pod kill does: the driver's JVM (a child) dies with it,
    so no orphaned JVM keeps running batches against the checkpoint of the next run.
    """

    env: dict[str, str]
    log_dir: Path
    logs: list[Path] = dataclasses.field(default_factory=list)

    def run_until(self, condition: Callable[[], bool], what: str, timeout: float = 600) -> None:
        log = self.log_dir / f"job-{len(self.logs)}.log"
        self.logs.append(log)
        job = subprocess.Popen(
            [sys.executable, str(REPO / "jobs" / "process_articles.py")],
            env=self.env,
            cwd=REPO,
            stdout=open(log, "wb"),  # noqa: SIM115 - the child process owns the file
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:

            def reached() -> bool:
                if job.poll() is not None:
                    raise AssertionError(f"job exited {job.returncode}: {log.read_text()[-3000:]}")
                return condition()

            wait_until(reached, timeout, what, interval=0.05)
        finally:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait(30)
            wait_until(lambda: not process_group_alive(job.pid), 30, "the killed job's processes to exit")


def stream_of_articles(
    kinesis: Any, s3: Any, names: dict[str, str], *, count: int, seed: int, authors: int, malformed: list[bytes]
) -> set[str]:
    """A 2-shard stream and a bucket named by ``names``; in the stream ``count`` articles an hour old,
    10 s apart, then the ``malformed`` records. Returns the articles' ids."""
    import json
    from datetime import datetime, timedelta, timezone

    from publisher.articles import ArticleGenerator

    stream = names["stream"]
    create_stream(kinesis, stream, 2)
    s3.create_bucket(Bucket=names["bucket"])
    generator = ArticleGenerator(seed=seed, authors=authors)
    start = datetime.now(timezone.utc) - timedelta(hours=1)
    articles = [generator.article(start + timedelta(seconds=10 * i)) for i in range(count)]
    records: list[dict[str, Any]] = [
        {"Data": json.dumps(a).encode(), "PartitionKey": a["article_id"]} for a in articles
    ]
    records += [{"Data": data, "PartitionKey": f"bad-{i}"} for i, data in enumerate(malformed)]
    for begin in range(0, len(records), 100):
        assert kinesis.put_records(StreamName=stream, Records=records[begin : begin + 100])["FailedRecordCount"] == 0
    return {a["article_id"] for a in articles}
