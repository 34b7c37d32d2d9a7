"""localstack/templates/configmap-init.yaml: the init hook creates the stream and the bucket."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from chart_helpers import (
    CHART,
    LOCALSTACK,
    PUBLISHER,
    Render,
    container,
    env_map,
    one,
    spark_container,
    sparkapp,
)

pytestmark = pytest.mark.chart


def test_localstack_init_creates_stream_and_bucket_from_values(render: Render, tmp_path: Path) -> None:
    objs = render(
        CHART / "ci" / "default-values.yaml",
        sets=(
            "global.kinesis.streamName=news-feed",
            "global.kinesis.shardCount=3",
            "global.s3.bucketName=articles-out",
        ),
    )
    script = one(objs, "ConfigMap", f"{LOCALSTACK}-init")["data"]["01-create-resources.sh"]
    env = env_map(container(one(objs, "Deployment", LOCALSTACK), "localstack")["env"])
    assert (
        env["AP_STREAM_NAME"] == "news-feed"
        and env["AP_SHARD_COUNT"] == "3"
        and env["AP_BUCKET_NAME"] == "articles-out"
    )
    assert 'awslocal kinesis create-stream --stream-name "$AP_STREAM_NAME" --shard-count "$AP_SHARD_COUNT"' in script
    assert 'awslocal s3 mb "s3://$AP_BUCKET_NAME"' in script
    path = tmp_path / "init.sh"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
    # the consumers agree with what the script creates
    pub_env = env_map(container(one(objs, "Deployment", PUBLISHER), "publisher")["env"])
    job_env = env_map(spark_container(sparkapp(objs), "driver")["env"])
    assert pub_env["KINESIS_STREAM_NAME"] == job_env["KINESIS_STREAM_NAME"] == "news-feed"
    assert pub_env["KINESIS_SHARD_COUNT"] == "3"
    assert job_env["S3_BUCKET_NAME"] == "articles-out"
