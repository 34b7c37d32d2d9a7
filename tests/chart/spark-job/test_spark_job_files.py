"""spark-job/files/checkpoint_guard.py (the driver's init container), run against moto_server:
the recovery when LocalStack restarts and recreates the stream, and the checkpoint's reset semantics,
with the checkpoint on a local directory (the PVC) and on S3 (`checkpoint.location`)."""

from __future__ import annotations

import ast
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from chart_helpers import (
    GUARD,
    create_stream,
    events,
    recreate_stream,
    run,
)
from pipeline_testing import as_role

from common.contract import OUTPUTS

pytestmark = pytest.mark.chart


def test_guard_knows_every_output() -> None:
    tree = ast.parse(GUARD.read_text())
    assigned = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "OUTPUTS" for t in node.targets)
    )
    assert set(ast.literal_eval(assigned)) == set(OUTPUTS)


class LocalCheckpoint:
    """The checkpoint on a directory (the PVC), as a user sees it: `ls` of the directory."""

    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)
        self.deletable = "the checkpoint PVC"
        # what a reset leaves: the identity, rewritten, and what was never part of the checkpoint
        self.after_reset = [".stream-identity.json", "lost+found"]

    def fake(self) -> None:
        """What the job leaves: one directory per query, offsets and commits (and the file system's own)."""
        for query in ("articles", "author_stats"):
            (self.root / query / "offsets").mkdir(parents=True)
            (self.root / query / "offsets" / "0").write_text("v1\n{}\n")
        (self.root / "lost+found").mkdir()

    def listing(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir())

    def identity(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads((self.root / ".stream-identity.json").read_text())
        return found

    def has(self, path: str) -> bool:
        return (self.root / path).is_file()


class S3Checkpoint:
    """The checkpoint under s3://<bucket>/checkpoints, as a user sees it: the objects under the prefix."""

    kind = "s3"

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket, self.prefix = s3, bucket, "checkpoints"
        self.location = f"s3://{bucket}/{self.prefix}"
        self.deletable = f"every object under {self.location}/"
        # the prefix's directory marker is no entry of the checkpoint: a reset leaves it
        self.after_reset = ["", ".stream-identity.json"]

    def put(self, key: str, body: bytes = b"") -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def fake(self) -> None:
        """What Spark leaves through S3A: objects per query, and a directory marker of the prefix."""
        self.put(f"{self.prefix}/")
        for query in ("articles", "author_stats"):
            self.put(f"{self.prefix}/{query}/offsets/0", b"v1\n{}\n")
        self.put(f"{self.prefix}/author_stats/state/0/0/1.delta", b"state")

    def object_keys(self, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def listing(self) -> list[str]:
        return [key[len(self.prefix) + 1 :] for key in self.object_keys(f"{self.prefix}/")]

    def identity(self) -> dict[str, Any]:
        body = self.s3.get_object(Bucket=self.bucket, Key=f"{self.prefix}/.stream-identity.json")["Body"].read()
        found: dict[str, Any] = json.loads(body)
        return found

    def has(self, path: str) -> bool:
        return f"{self.prefix}/{path}" in self.object_keys(f"{self.prefix}/{path}")


Checkpoint = LocalCheckpoint | S3Checkpoint


@pytest.fixture(params=["local", "s3"])
def checkpoint(request: pytest.FixtureRequest, s3: Any, names: dict[str, str], tmp_path: Path) -> Checkpoint:
    """The checkpoint on a local directory (the PVC) or under s3://<bucket>/checkpoints, the outputs' bucket."""
    if request.param == "local":
        return LocalCheckpoint(tmp_path / "checkpoints")
    return S3Checkpoint(s3, names["bucket"])


def prepared(moto_endpoint: str, kinesis: Any, s3: Any, names: dict[str, str], location: str) -> dict[str, str]:
    """The guard's environment, with the stream and the outputs' bucket created."""
    create_stream(kinesis, names["stream"])
    s3.create_bucket(Bucket=names["bucket"])
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "CHECKPOINT_LOCATION": location,
        "ON_STREAM_RECREATED": "reset",
        "ALLOW_EXISTING_OUTPUTS": "false",
    }


@pytest.fixture
def guard_env(
    moto_endpoint: str, kinesis: Any, s3: Any, names: dict[str, str], checkpoint: Checkpoint
) -> dict[str, str]:
    return prepared(moto_endpoint, kinesis, s3, names, checkpoint.location)


def test_guard_fresh_then_resume(guard_env: dict[str, str], checkpoint: Checkpoint) -> None:
    first = run(GUARD, guard_env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert events(first)[-1] == {
        **events(first)[-1],
        "event": "checkpoint_ok",
        "resumed": False,
        "checkpoint": checkpoint.location,
    }
    assert checkpoint.identity()["stream"] == guard_env["KINESIS_STREAM_NAME"]
    checkpoint.fake()
    again = run(GUARD, guard_env)
    assert again.returncode == 0, again.stdout
    assert events(again)[-1]["resumed"] is True
    assert checkpoint.has("articles/offsets/0")


def test_guard_resets_a_checkpoint_of_a_recreated_stream(
    guard_env: dict[str, str], checkpoint: Checkpoint, kinesis: Any
) -> None:
    """LocalStack restarted empty: stream recreated, bucket empty. The job must start over."""
    assert run(GUARD, guard_env).returncode == 0
    checkpoint.fake()
    before = checkpoint.identity()
    recreate_stream(kinesis, guard_env["KINESIS_STREAM_NAME"])
    result = run(GUARD, guard_env)
    assert result.returncode == 0, result.stdout + result.stderr
    reset = next(e for e in events(result) if e["event"] == "checkpoint_reset")
    assert sorted(reset["removed"]) == ["articles", "author_stats"]
    assert reset["checkpoint"] == checkpoint.location
    assert checkpoint.listing() == checkpoint.after_reset
    after = checkpoint.identity()
    assert after["stream_created"] != before["stream_created"]
    assert events(result)[-1]["resumed"] is False


def test_guard_fails_on_a_recreated_stream_when_told(
    guard_env: dict[str, str], checkpoint: Checkpoint, kinesis: Any
) -> None:
    assert run(GUARD, guard_env).returncode == 0
    checkpoint.fake()
    before = checkpoint.listing()
    recreate_stream(kinesis, guard_env["KINESIS_STREAM_NAME"])
    result = run(GUARD, {**guard_env, "ON_STREAM_RECREATED": "fail"})
    assert result.returncode == 1
    last = events(result)[-1]
    assert last["event"] == "checkpoint_of_earlier_stream"
    assert f"delete {checkpoint.deletable} (and the outputs" in last["fix"]
    assert checkpoint.listing() == before, "fail mode must not touch the checkpoint"


def test_guard_refuses_a_fresh_checkpoint_over_existing_outputs(
    guard_env: dict[str, str], checkpoint: Checkpoint, s3: Any
) -> None:
    """A reinstall with a new checkpoint would append the whole stream to the earlier run's tables again.

    The log here is one commit the guard cannot read: in doubt, it refuses.
    """
    s3.put_object(
        Bucket=guard_env["S3_BUCKET_NAME"],
        Key="enriched_articles/_delta_log/00000000000000000000.json",
        Body=b"x",
    )
    result = run(GUARD, guard_env)
    assert result.returncode == 1
    last = events(result)[-1]
    assert last["event"] == "fresh_checkpoint_over_existing_outputs"
    assert last["outputs"] == [f"s3://{guard_env['S3_BUCKET_NAME']}/enriched_articles/"]
    allowed = run(GUARD, {**guard_env, "ALLOW_EXISTING_OUTPUTS": "true"})
    assert allowed.returncode == 0, allowed.stdout
    # a checkpoint that exists resumes over its own outputs without complaint
    checkpoint.fake()
    assert run(GUARD, guard_env).returncode == 0


# --- checkpoints on S3 only ------------------------------------------------------------------------


@pytest.fixture
def s3_checkpoint(s3: Any, names: dict[str, str]) -> S3Checkpoint:
    return S3Checkpoint(s3, names["bucket"])


@pytest.fixture
def s3_guard_env(
    moto_endpoint: str, kinesis: Any, s3: Any, names: dict[str, str], s3_checkpoint: S3Checkpoint
) -> dict[str, str]:
    return prepared(moto_endpoint, kinesis, s3, names, s3_checkpoint.location)


def test_guard_on_s3_reset_deletes_nothing_outside_the_prefix(
    s3_guard_env: dict[str, str], s3_checkpoint: S3Checkpoint, kinesis: Any
) -> None:
    """Neighbours of the prefix (a longer prefix, the same names elsewhere, the outputs) stay; a
    checkpoint of more than one DeleteObjects batch (1000 keys) goes entirely."""
    assert run(GUARD, s3_guard_env).returncode == 0
    s3_checkpoint.fake()
    many = [f"checkpoints/author_stats/state/0/1/{n}.delta" for n in range(1005)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(s3_checkpoint.put, many))
    outside = ["checkpoints-old/articles/offsets/0", "elsewhere/checkpoints/articles/offsets/0", "author_stats/x"]
    for key in outside:
        s3_checkpoint.put(key)
    recreate_stream(kinesis, s3_guard_env["KINESIS_STREAM_NAME"])
    result = run(GUARD, s3_guard_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert s3_checkpoint.object_keys("checkpoints/") == ["checkpoints/", "checkpoints/.stream-identity.json"]
    assert [k for k in s3_checkpoint.object_keys() if not k.startswith("checkpoints/")] == sorted(outside)


def test_guard_on_s3_writes_the_identity_as_one_object(
    s3_guard_env: dict[str, str], s3_checkpoint: S3Checkpoint
) -> None:
    """No temporary object beside it; an s3a:// location is the same checkpoint (as for the job)."""
    result = run(
        GUARD, {**s3_guard_env, "CHECKPOINT_LOCATION": s3_checkpoint.location.replace("s3://", "s3a://") + "/"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert events(result)[-1]["checkpoint"] == s3_checkpoint.location
    assert s3_checkpoint.listing() == [".stream-identity.json"]
    head = s3_checkpoint.s3.head_object(Bucket=s3_checkpoint.bucket, Key="checkpoints/.stream-identity.json")
    assert head["ContentType"] == "application/json"
    identity = s3_checkpoint.identity()
    assert identity == events(result)[-1]["identity"]
    s3_checkpoint.fake()
    resumed = run(GUARD, s3_guard_env)
    assert events(resumed)[-1]["resumed"] is True


def test_guard_on_s3_a_directory_marker_alone_is_a_fresh_checkpoint(
    s3_guard_env: dict[str, str], s3_checkpoint: S3Checkpoint
) -> None:
    s3_checkpoint.put("checkpoints/")
    result = run(GUARD, s3_guard_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert events(result)[-1]["resumed"] is False


def test_guard_on_s3_names_a_missing_bucket(s3_guard_env: dict[str, str]) -> None:
    result = run(GUARD, {**s3_guard_env, "CHECKPOINT_LOCATION": "s3://no-such-bucket-for-checkpoints/checkpoints"})
    assert result.returncode == 1
    last = events(result)[-1]
    assert last["event"] == "checkpoint_unreachable"
    assert last["checkpoint"] == "s3://no-such-bucket-for-checkpoints/checkpoints"
    assert "NoSuchBucket" in last["error"]
    assert "spark-job.checkpoint.location" in last["fix"]


def create_tables_as_the_job_does(bucket: str, options: dict[str, str], s3: Any) -> None:
    """The three outputs as `jobs.output_tables.ensure_table` leaves them before the first checkpoint.

    A real Delta log whose only commit holds protocol and metadata (written by deltalake), plus
    what delta-spark 4.4 writes besides (seen against moto): an `_staged_commits/` directory
    marker, and for the unpartitioned table an empty Parquet file that the log never adds.
    """
    import pyarrow as pa
    from deltalake import DeltaTable

    for table in OUTPUTS:
        partitioned = table != "author_stats"
        schema = pa.schema([("article_id", pa.string()), ("date", pa.string())])
        DeltaTable.create(
            f"s3://{bucket}/{table}",
            schema=schema,
            partition_by=["date"] if partitioned else None,
            storage_options=options,
        )
        s3.put_object(Bucket=bucket, Key=f"{table}/_delta_log/_staged_commits/", Body=b"")
        if not partitioned:
            s3.put_object(Bucket=bucket, Key=f"{table}/part-00000-0-c000.snappy.parquet", Body=b"PAR1 empty")


def test_guard_passes_over_tables_created_empty_and_refuses_once_they_hold_rows(
    guard_env: dict[str, str], checkpoint: Checkpoint, s3: Any
) -> None:
    """A driver that died after creating the tables and before its first checkpoint must not block
    every later start; a fresh checkpoint over a table with rows is still refused."""
    import pyarrow as pa
    from deltalake import write_deltalake

    from common.settings import AwsSettings
    from ops.outputs import delta_storage_options

    bucket = guard_env["S3_BUCKET_NAME"]
    options = delta_storage_options(AwsSettings(region="us-east-1", endpoint_url=guard_env["AWS_ENDPOINT_URL"]))
    create_tables_as_the_job_does(bucket, options, s3)
    fresh = run(GUARD, guard_env)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    last = events(fresh)[-1]
    assert last["event"] == "checkpoint_ok" and last["resumed"] is False
    assert sorted(last["outputs_without_data"]) == sorted(f"s3://{bucket}/{t}/" for t in OUTPUTS)
    rows = pa.table({"article_id": ["a1", "a2"], "date": ["2026-12-06", "2026-12-06"]})
    write_deltalake(f"s3://{bucket}/enriched_articles", rows, mode="append", storage_options=options)
    refused = run(GUARD, guard_env)
    assert refused.returncode == 1, refused.stdout
    last = events(refused)[-1]
    assert last["event"] == "fresh_checkpoint_over_existing_outputs"
    assert last["outputs"] == [f"s3://{bucket}/enriched_articles/"]


def test_guard_describes_a_stream_of_another_account_as_the_role(
    moto_endpoint: str, s3: Any, names: dict[str, str], checkpoint: Checkpoint
) -> None:
    """With KINESIS_ROLE_ARN the stream's identity is the one in the role's account (moto keeps one
    per account); the checkpoint stays where it is, in the pipeline's own account."""
    role_arn = "arn:aws:iam::111122223333:role/streams/article-reader"
    other = as_role(moto_endpoint, role_arn)
    create_stream(other, names["stream"])
    s3.create_bucket(Bucket=names["bucket"])
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "CHECKPOINT_LOCATION": checkpoint.location,
        "ON_STREAM_RECREATED": "reset",
        "ALLOW_EXISTING_OUTPUTS": "false",
    }
    role = {**env, "KINESIS_ROLE_ARN": role_arn, "KINESIS_ROLE_EXTERNAL_ID": "pipeline-7f3a"}
    result = run(GUARD, role)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = other.describe_stream_summary(StreamName=names["stream"])["StreamDescriptionSummary"]
    assert checkpoint.identity() == {
        "stream": names["stream"],
        "stream_created": summary["StreamCreationTimestamp"].timestamp(),
    }
    own_account = run(GUARD, env)
    assert own_account.returncode != 0 and "ResourceNotFoundException" in own_account.stderr
