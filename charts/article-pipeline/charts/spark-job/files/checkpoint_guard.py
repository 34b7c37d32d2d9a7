"""Init container of the Spark driver: keep the checkpoint and the outputs consistent.

The checkpoint (on the PVC) holds Kinesis positions of one particular stream and the identity
of the Delta writes (txnAppId, new with every new checkpoint). So:

1. A checkpoint made for an earlier stream of the same name (LocalStack restarted empty, or the
   stream was deleted and recreated) cannot be resumed: the job itself refuses it. Here
   ON_STREAM_RECREATED decides before the job starts: `reset` empties the checkpoint (right
   for LocalStack, whose restart also empties the bucket), `fail` stops with instructions
   (right for real AWS, where the outputs of the earlier stream are still in the bucket).
2. A fresh checkpoint reads the stream again from its start and appends every article to the
   existing tables a second time (a new txnAppId: Delta cannot tell). Over outputs that hold
   data this fails, unless ALLOW_EXISTING_OUTPUTS=true. An output holds data when its Delta log
   has committed a data file (an `add` action) or has a log checkpoint. The job creates its
   tables empty before its queries write their first checkpoint, so a start that died in
   between leaves tables with a log and no data (and, for an unpartitioned table, an empty
   Parquet file the log never added): those do not count, and the next start goes ahead.
3. It records which stream the checkpoint belongs to in CHECKPOINT_LOCATION/.stream-identity.json.

Env: CHECKPOINT_LOCATION, KINESIS_STREAM_NAME, S3_BUCKET_NAME, AWS_REGION, AWS_ENDPOINT_URL
(optional), ON_STREAM_RECREATED (reset | fail), ALLOW_EXISTING_OUTPUTS (true | false).
Exit 0: the job may start; 1: it must not (the reason is printed as a JSON line).
"""

import json
import os
import shutil
import sys
from pathlib import Path

import boto3
from botocore.config import Config

IDENTITY = ".stream-identity.json"
# What the job writes under s3://<bucket>/ (common.contract.OUTPUTS; tests/chart checks they match).
OUTPUTS = ("enriched_articles", "author_stats", "quarantine")
# Never part of a checkpoint: the identity file itself and a file system's own directory.
NOT_CHECKPOINT = {IDENTITY, "lost+found"}


def log(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


def checkpoint_entries(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.name not in NOT_CHECKPOINT)


def holds_data(s3: object, bucket: str, prefix: str) -> bool:
    """Whether the Delta table at s3://bucket/prefix/ has committed a data file.

    Its log's JSON commits are read in order until one has an `add` action; a log checkpoint
    (written every few commits, after which old commits may be cleaned up) counts as data
    without reading it, as does a commit that cannot be parsed: when in doubt, refuse. Objects
    outside the log (an empty Parquet file that an interrupted table creation left, files of
    an unfinished write) are not part of the table: Delta readers never see them.
    """
    log = f"{prefix}/_delta_log/"
    commits = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=log):  # type: ignore[attr-defined]
        for item in page.get("Contents", []):
            name = item["Key"][len(log) :]
            if name == "_last_checkpoint" or ".checkpoint." in name:
                return True
            if name.endswith(".json") and "/" not in name:
                commits.append(item["Key"])
    for key in sorted(commits):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()  # type: ignore[attr-defined]
        for line in body.splitlines():
            if not line.strip():
                continue
            try:
                action = json.loads(line)
            except ValueError:
                return True
            if not isinstance(action, dict) or "add" in action:
                return True
    return False


def existing_outputs(s3: object, bucket: str) -> tuple[list[str], list[str]]:
    """The outputs that hold data, and those that exist without any (created empty)."""
    with_data, without_data = [], []
    for prefix in OUTPUTS:
        url = f"s3://{bucket}/{prefix}/"
        if holds_data(s3, bucket, prefix):
            with_data.append(url)
        else:
            listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/", MaxKeys=1)  # type: ignore[attr-defined]
            if listing.get("KeyCount", 0):
                without_data.append(url)
    return with_data, without_data


def empty(entries: list[Path]) -> None:
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def same_stream(recorded: dict[str, object], identity: dict[str, object]) -> bool:
    created = recorded.get("stream_created")
    return (
        recorded.get("stream") == identity["stream"]
        and isinstance(created, (int, float))
        and abs(created - float(identity["stream_created"])) <= 0.001  # type: ignore[arg-type]
    )


def guard(root: Path, *, stream: str, bucket: str, kinesis: object, s3: object, env: dict[str, str]) -> int:
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]  # type: ignore[attr-defined]
    identity = {"stream": stream, "stream_created": summary["StreamCreationTimestamp"].timestamp()}
    root.mkdir(parents=True, exist_ok=True)
    entries = checkpoint_entries(root)
    recorded_file = root / IDENTITY
    recorded = json.loads(recorded_file.read_text()) if recorded_file.is_file() else None
    if entries and recorded is not None and not same_stream(recorded, identity):
        if env.get("ON_STREAM_RECREATED", "fail") != "reset":
            log(
                "checkpoint_of_earlier_stream",
                checkpoint=str(root),
                checkpoint_for=recorded,
                stream_now=identity,
                fix="the stream was recreated: delete the checkpoint PVC (and the outputs of the "
                "earlier stream), or set spark-job.checkpoint.onStreamRecreated=reset",
            )
            return 1
        empty(entries)
        log("checkpoint_reset", checkpoint=str(root), removed=[e.name for e in entries], was_for=recorded, now=identity)
        entries = []
    empty_outputs: list[str] = []
    if not entries:
        outputs, empty_outputs = existing_outputs(s3, bucket)
        if outputs and env.get("ALLOW_EXISTING_OUTPUTS", "false").lower() != "true":
            log(
                "fresh_checkpoint_over_existing_outputs",
                checkpoint=str(root),
                outputs=outputs,
                fix="a new checkpoint would read the stream again and append its articles a second time: "
                "move or delete those tables, restore the checkpoint, or set spark-job.checkpoint.allowExistingOutputs=true",
            )
            return 1
    temporary = root / f"{IDENTITY}.tmp"
    temporary.write_text(json.dumps(identity))
    temporary.replace(recorded_file)
    log(
        "checkpoint_ok",
        checkpoint=str(root),
        resumed=bool(entries),
        identity=identity,
        **({"outputs_without_data": empty_outputs} if empty_outputs else {}),
    )
    return 0


def main() -> int:
    env = dict(os.environ)
    endpoint = env.get("AWS_ENDPOINT_URL") or None
    region = env.get("AWS_REGION", "us-east-1")
    config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 5, "mode": "standard"})
    kinesis = boto3.client("kinesis", region_name=region, endpoint_url=endpoint, config=config)
    s3 = boto3.client("s3", region_name=region, endpoint_url=endpoint, config=config)
    return guard(
        Path(env["CHECKPOINT_LOCATION"]),
        stream=env["KINESIS_STREAM_NAME"],
        bucket=env["S3_BUCKET_NAME"],
        kinesis=kinesis,
        s3=s3,
        env=env,
    )


if __name__ == "__main__":
    sys.exit(main())
