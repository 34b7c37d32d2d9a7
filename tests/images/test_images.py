"""The container images, built and run for real (podman here, docker where it exists).

Builds both images once (scripts/build-image.sh publisher spark-job), then runs them the way users and the
chart do: host network against a moto_server on 127.0.0.1, read-only root filesystem with a
writable /tmp, non-root. Slow tier: a cold build takes a few minutes (pyspark is ~450 MB).
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from image_support import PUBLISHER, REPO, SPARK_JOB, Engine
from pipeline_testing import pinned_pyspark

pytestmark = pytest.mark.images

AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
SECRET_NAMES = ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN")


def _client(service: str, endpoint: str):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _create_stream(kinesis, name: str, shards: int) -> None:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})


def _read_stream(kinesis, name: str) -> list[dict]:
    records = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        while it:
            out = kinesis.get_records(ShardIterator=it, Limit=10_000)
            records += out["Records"]
            if not out["Records"]:
                break
            it = out.get("NextShardIterator")
    return records


def _env_args(env: dict[str, str]) -> list[str]:
    return [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]


def _logs(engine: Engine, name: str) -> str:
    proc = engine.run("logs", name, check=False)
    return (proc.stdout + proc.stderr)[-6000:]


def _article(i: int, now: datetime) -> dict:
    return {
        "article_id": str(uuid.uuid4()),
        "title": f"Image test article {i}",
        "author": f"Author {i % 5}",
        "body": " ".join(["word"] * (10 + i)),
        "category": ["tech", "world", "sports"][i % 3],
        "url": f"https://news.example.com/{i}",
        "published_at": (now - timedelta(seconds=60 - i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


# -- publisher ---------------------------------------------------------------------------


def test_publisher_serves_health_publishes_and_stops_fast(engine, built_images, moto_endpoint):
    kinesis = _client("kinesis", moto_endpoint)
    stream = f"img-pub-{uuid.uuid4().hex[:8]}"
    _create_stream(kinesis, stream, 1)
    port = _free_port()
    # The image's own command, bound to loopback on a free port instead of 0.0.0.0:8000.
    cmd = json.loads(engine.inspect(PUBLISHER, "{{json .Config.Cmd}}"))
    assert "--bind" in cmd, cmd
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    name = f"ap-img-pub-{uuid.uuid4().hex[:8]}"
    env = {
        **AWS_ENV,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "KINESIS_STREAM_NAME": stream,
        "S3_BUCKET_NAME": "img-pub-bucket",
        "PUBLISH_RATE": "20",
        "PUBLISHER_SEED": "7",
    }
    engine.run(
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp",
        *_env_args(env),
        PUBLISHER,
        *cmd,
    )
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    status = resp.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = None
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, f"/health never returned 200 (last: {status}):\n{_logs(engine, name)}"

        deadline, records = time.monotonic() + 60, []
        while time.monotonic() < deadline and len(records) < 5:
            records = _read_stream(kinesis, stream)
            time.sleep(0.5)
        assert len(records) >= 5, f"only {len(records)} records arrived:\n{_logs(engine, name)}"
        article = json.loads(records[0]["Data"])
        assert {"article_id", "title", "author", "body", "published_at"} <= set(article)
        assert records[0]["PartitionKey"] == article["article_id"]

        start = time.monotonic()
        engine.run("stop", "-t", "10", name, timeout=30)
        elapsed = time.monotonic() - start
        code = engine.run("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
        assert elapsed <= 2.0, f"stop took {elapsed:.1f}s (SIGTERM not handled promptly):\n{_logs(engine, name)}"
        assert code in ("0",), f"exit code {code} after SIGTERM (137 = killed):\n{_logs(engine, name)}"
    finally:
        engine.run("rm", "-f", name, check=False)


# -- spark job ---------------------------------------------------------------------------


def _publish_articles(endpoint: str, count: int, shards: int) -> tuple[str, str, list[dict]]:
    kinesis, s3 = _client("kinesis", endpoint), _client("s3", endpoint)
    suffix = uuid.uuid4().hex[:8]
    stream, bucket = f"img-spark-{suffix}", f"img-spark-{suffix}"
    _create_stream(kinesis, stream, shards)
    s3.create_bucket(Bucket=bucket)
    now = datetime.now(timezone.utc)
    articles = [_article(i, now) for i in range(count)]
    out = kinesis.put_records(
        StreamName=stream, Records=[{"Data": json.dumps(a).encode(), "PartitionKey": a["article_id"]} for a in articles]
    )
    assert out["FailedRecordCount"] == 0
    return stream, bucket, articles


def _enriched_rows(endpoint: str, bucket: str, context: str) -> list[dict]:
    """The enriched_articles Delta table as any reader sees it (through its log)."""
    from common.settings import AwsSettings
    from ops.outputs import open_table

    table = open_table(AwsSettings(region="us-east-1", endpoint_url=endpoint), bucket, "enriched_articles")
    assert table is not None, f"no Delta table at s3://{bucket}/enriched_articles:\n{context}"
    return table.to_pyarrow_table().to_pylist()


def _job_env(endpoint: str, stream: str, bucket: str) -> dict[str, str]:
    return {
        **AWS_ENV,
        "AWS_ENDPOINT_URL": endpoint,
        "KINESIS_STREAM_NAME": stream,
        "S3_BUCKET_NAME": bucket,
        "TRIGGER_INTERVAL": "available-now",
        "CHECKPOINT_LOCATION": "/checkpoints",
    }


def test_spark_job_available_now_writes_delta_tables(engine, built_images, moto_endpoint):
    """The default command, read-only root FS, tmpfs /tmp, checkpoint volume, local[2]."""
    stream, bucket, articles = _publish_articles(moto_endpoint, 50, 2)
    suffix = uuid.uuid4().hex[:8]
    volume, name = f"ap-img-ckpt-{suffix}", f"ap-img-spark-{suffix}"
    engine.run("volume", "create", volume)
    env = {**_job_env(moto_endpoint, stream, bucket), "SPARK_MASTER_URL": "local[2]"}
    try:
        start = time.monotonic()
        proc = engine.run(
            "run",
            "--name",
            name,
            "--network",
            "host",
            "--read-only",
            "--tmpfs",
            "/tmp:rw,size=2g,mode=1777",
            "-v",
            f"{volume}:/checkpoints",
            *_env_args(env),
            SPARK_JOB,
            timeout=420,
            check=False,
        )
        elapsed = time.monotonic() - start
        output = (proc.stdout + proc.stderr)[-8000:]
        assert proc.returncode == 0, f"job exited {proc.returncode} after {elapsed:.0f}s:\n{output}"

        rows = _enriched_rows(moto_endpoint, bucket, output)
        assert sorted(r["article_id"] for r in rows) == sorted(a["article_id"] for a in articles), output
        by_id = {a["article_id"]: a for a in articles}
        for row in rows:
            assert row["word_count"] == len(by_id[row["article_id"]]["body"].split())
        # The checkpoint went to the volume (the root filesystem is read-only).
        listing = engine.run(
            "run",
            "--rm",
            "-v",
            f"{volume}:/checkpoints",
            SPARK_JOB,
            "sh",
            "-c",
            "find /checkpoints -mindepth 1 -maxdepth 2",
        ).stdout
        assert "articles" in listing, listing
    finally:
        engine.run("rm", "-f", name, check=False)
        engine.run("volume", "rm", "-f", volume, check=False)


def test_spark_entrypoint_driver_mode_runs_the_job(engine, built_images, moto_endpoint):
    """`driver ...` is what Spark's Kubernetes backend runs in the driver pod (spark-submit,
    client mode, PythonRunner on a local:// file); here with a local master instead of k8s://."""
    stream, bucket, articles = _publish_articles(moto_endpoint, 5, 1)
    env = {
        **_job_env(moto_endpoint, stream, bucket),
        "SPARK_DRIVER_BIND_ADDRESS": "127.0.0.1",
        "SPARK_LOCAL_IP": "127.0.0.1",
        "CHECKPOINT_LOCATION": "/tmp/checkpoints",
    }
    proc = engine.run(
        "run",
        "--rm",
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp:rw,size=1g,mode=1777",
        *_env_args(env),
        SPARK_JOB,
        "driver",
        "--master",
        "local[1]",
        "--conf",
        "spark.ui.enabled=false",
        "--class",
        "org.apache.spark.deploy.PythonRunner",
        "local:///opt/app/jobs/process_articles.py",
        timeout=420,
        check=False,
    )
    output = (proc.stdout + proc.stderr)[-8000:]
    assert proc.returncode == 0, output
    rows = _enriched_rows(moto_endpoint, bucket, output)
    assert sorted(r["article_id"] for r in rows) == sorted(a["article_id"] for a in articles), output


def test_spark_submit_version_is_the_pinned_pyspark(engine, built_images):
    proc = engine.run(
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "-e",
        "SPARK_DRIVER_BIND_ADDRESS=127.0.0.1",
        SPARK_JOB,
        "driver",
        "--version",
        timeout=120,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert f"version {pinned_pyspark()}" in output, output


def test_spark_entrypoint_executor_mode_starts_kubernetes_backend(engine, built_images):
    """`executor` starts KubernetesExecutorBackend from the SPARK_EXECUTOR_* env, as in an executor pod.

    No driver listens on the port, so the backend must start, try to register and fail fast.
    """
    port = _free_port()
    env = {
        "SPARK_EXECUTOR_MEMORY": "256m",
        "SPARK_DRIVER_URL": f"spark://CoarseGrainedScheduler@127.0.0.1:{port}",
        "SPARK_EXECUTOR_ID": "1",
        "SPARK_EXECUTOR_CORES": "1",
        "SPARK_APPLICATION_ID": "spark-test",
        "SPARK_EXECUTOR_POD_IP": "127.0.0.1",
        "SPARK_EXECUTOR_POD_NAME": "executor-1",
        "SPARK_JAVA_OPT_0": "-Dspark.rpc.numRetries=1",
    }
    proc = engine.run(
        "run",
        "--rm",
        "--network",
        "host",
        "--read-only",
        "--tmpfs",
        "/tmp",
        *_env_args(env),
        SPARK_JOB,
        "executor",
        timeout=120,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert "KubernetesExecutorBackend: Started daemon" in output, output[-4000:]
    assert f"Failed to connect to /127.0.0.1:{port}" in output, output[-4000:]
    assert proc.returncode != 0


def test_spark_image_has_java17_and_kubernetes_backend(engine, built_images):
    proc = engine.run(
        "run",
        "--rm",
        SPARK_JOB,
        "sh",
        "-c",
        'java -version 2>&1; ls "$SPARK_HOME"/jars | grep "^spark-kubernetes_"; echo "$SPARK_HOME"',
    )
    assert 'version "17.' in proc.stdout, proc.stdout
    assert f"spark-kubernetes_2.13-{pinned_pyspark()}.jar" in proc.stdout, proc.stdout


# -- hygiene -----------------------------------------------------------------------------


@pytest.mark.parametrize(("image", "uid"), [(PUBLISHER, "10001"), (SPARK_JOB, "185")])
def test_images_run_as_non_root(engine, built_images, image, uid):
    user = engine.inspect(image, "{{.Config.User}}")
    assert user.split(":")[0] == uid, f"{image} USER is {user!r}"
    assert engine.run("run", "--rm", image, "id", "-u").stdout.strip() == uid


@pytest.mark.parametrize("image", [PUBLISHER, SPARK_JOB])
def test_no_secrets_baked_in(engine, built_images, image):
    env = json.loads(engine.inspect(image, "{{json .Config.Env}}"))
    names = {entry.split("=", 1)[0] for entry in env}
    assert not names & set(SECRET_NAMES), f"{image} bakes {names & set(SECRET_NAMES)} into its env"
    history = engine.run("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
    for secret in SECRET_NAMES:
        assert secret not in history, f"{image}'s build history mentions {secret}"
    found = engine.run(
        "run",
        "--rm",
        image,
        "sh",
        "-c",
        "find / -xdev \\( -path '*/.aws/credentials' -o -path '*/.aws/config' "
        "-o -name host-ca.crt \\) 2>/dev/null; true",
    ).stdout.strip()
    assert found == "", f"{image} contains credential/CA files: {found}"


def _pins() -> dict[str, str]:
    import tomllib

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return {d.split("==")[0].strip().lower(): d.split("==")[1].strip() for d in deps}


@pytest.mark.parametrize("image", [PUBLISHER, SPARK_JOB])
def test_versions_are_pinned(engine, built_images, image):
    assert not image.endswith(":latest")
    freeze = engine.run("run", "--rm", image, "python3", "-m", "pip", "freeze").stdout
    installed = {
        line.split("==")[0].lower().replace("_", "-"): line.split("==")[1]
        for line in freeze.splitlines()
        if "==" in line
    }
    pins = _pins()
    expected = {k: v for k, v in pins.items() if image == SPARK_JOB or k not in ("pyspark", "pyarrow", "pandas")}
    for dep, version in expected.items():
        assert installed.get(dep.replace("_", "-")) == version, (
            f"{image}: {dep} is {installed.get(dep)}, pinned {version}"
        )
    if image == SPARK_JOB:
        assert f"pyspark=={pinned_pyspark()}" in freeze.splitlines()
    else:
        assert "pyspark" not in installed, "the publisher image should not carry Spark"
    assert installed.get("article-pipeline") == "0.1.0" or any(
        line.startswith("article-pipeline") for line in freeze.splitlines()
    ), freeze


def test_dockerfiles_pin_their_bases():
    for dockerfile in sorted((REPO / "images").glob("*/Dockerfile")):
        text = dockerfile.read_text()
        for line in text.splitlines():
            if line.startswith("ARG BASE_IMAGE="):
                base = line.split("=", 1)[1]
                assert ":" in base and not base.endswith(":latest"), f"{dockerfile}: unpinned base {base}"
            assert ":latest" not in line, f"{dockerfile}: {line}"
        if re.search(r"pip install [^;]*-r ", text):  # from an index: behind a TLS-intercepting proxy it needs the CA
            assert "--mount=type=secret,id=host_ca" in text, f"{dockerfile}: pip without the host_ca secret"
