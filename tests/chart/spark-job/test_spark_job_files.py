"""spark-job/files/checkpoint_guard.py (the driver's init container), run against moto_server:
the recovery when LocalStack restarts and recreates the stream, and the checkpoint's reset semantics."""

from __future__ import annotations

import ast
import json
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


@pytest.fixture
def guard_env(moto_endpoint: str, kinesis: Any, s3: Any, names: dict[str, str], tmp_path: Path) -> dict[str, str]:
    create_stream(kinesis, names["stream"])
    s3.create_bucket(Bucket=names["bucket"])
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "KINESIS_STREAM_NAME": names["stream"],
        "S3_BUCKET_NAME": names["bucket"],
        "CHECKPOINT_LOCATION": str(tmp_path / "checkpoints"),
        "ON_STREAM_RECREATED": "reset",
        "ALLOW_EXISTING_OUTPUTS": "false",
    }


def fake_checkpoint(root: Path) -> None:
    """What the job leaves: one directory per query, offsets and commits."""
    for query in ("articles", "author_stats"):
        (root / query / "offsets").mkdir(parents=True)
        (root / query / "offsets" / "0").write_text("v1\n{}\n")
    (root / "lost+found").mkdir()


def test_guard_fresh_then_resume(guard_env: dict[str, str]) -> None:
    root = Path(guard_env["CHECKPOINT_LOCATION"])
    first = run(GUARD, guard_env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert events(first)[-1] == {**events(first)[-1], "event": "checkpoint_ok", "resumed": False}
    identity = json.loads((root / ".stream-identity.json").read_text())
    assert identity["stream"] == guard_env["KINESIS_STREAM_NAME"]
    fake_checkpoint(root)
    again = run(GUARD, guard_env)
    assert again.returncode == 0, again.stdout
    assert events(again)[-1]["resumed"] is True
    assert (root / "articles" / "offsets" / "0").is_file()


def test_guard_resets_a_checkpoint_of_a_recreated_stream(guard_env: dict[str, str], kinesis: Any, s3: Any) -> None:
    """LocalStack restarted empty: stream recreated, bucket empty. The job must start over."""
    root = Path(guard_env["CHECKPOINT_LOCATION"])
    assert run(GUARD, guard_env).returncode == 0
    fake_checkpoint(root)
    before = json.loads((root / ".stream-identity.json").read_text())
    recreate_stream(kinesis, guard_env["KINESIS_STREAM_NAME"])
    result = run(GUARD, guard_env)
    assert result.returncode == 0, result.stdout + result.stderr
    reset = next(e for e in events(result) if e["event"] == "checkpoint_reset")
    assert sorted(reset["removed"]) == ["articles", "author_stats"]
    assert sorted(p.name for p in root.iterdir()) == [".stream-identity.json", "lost+found"]
    after = json.loads((root / ".stream-identity.json").read_text())
    assert after["stream_created"] != before["stream_created"]
    assert events(result)[-1]["resumed"] is False


def test_guard_fails_on_a_recreated_stream_when_told(guard_env: dict[str, str], kinesis: Any) -> None:
    root = Path(guard_env["CHECKPOINT_LOCATION"])
    assert run(GUARD, guard_env).returncode == 0
    fake_checkpoint(root)
    recreate_stream(kinesis, guard_env["KINESIS_STREAM_NAME"])
    result = run(GUARD, {**guard_env, "ON_STREAM_RECREATED": "fail"})
    assert result.returncode == 1
    assert events(result)[-1]["event"] == "checkpoint_of_earlier_stream"
    assert (root / "articles" / "offsets" / "0").is_file(), "fail mode must not touch the checkpoint"


def test_guard_refuses_a_fresh_checkpoint_over_existing_outputs(guard_env: dict[str, str], s3: Any) -> None:
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
    fake_checkpoint(Path(guard_env["CHECKPOINT_LOCATION"]))
    assert run(GUARD, guard_env).returncode == 0


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
    guard_env: dict[str, str], s3: Any
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
