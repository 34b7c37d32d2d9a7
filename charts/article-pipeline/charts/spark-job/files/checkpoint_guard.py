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

CHECKPOINT_LOCATION is a local directory (the PVC's mount path) or `s3://bucket/prefix`
(`s3a://` taken as `s3://`), as for the job. On S3 the checkpoint's entries are the first path
components of the keys under `prefix/`; `reset` deletes the objects under those (nothing outside
`prefix/`), and the identity is `prefix/.stream-identity.json`, written with one PutObject (a
reader sees the old object or the new one, never half of it).

Env: CHECKPOINT_LOCATION, KINESIS_STREAM_NAME, S3_BUCKET_NAME, AWS_REGION, AWS_ENDPOINT_URL
(optional), ON_STREAM_RECREATED (reset | fail), ALLOW_EXISTING_OUTPUTS (true | false),
KINESIS_ROLE_ARN (optional: the stream is described as that role, with KINESIS_ROLE_EXTERNAL_ID,
KINESIS_ROLE_SESSION_NAME; S3 never is).
Exit 0: the job may start; 1: it must not (the reason is printed as a JSON line).
"""

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

IDENTITY = ".stream-identity.json"
# What the job writes under s3://<bucket>/ (common.contract.OUTPUTS; tests/chart checks they match).
OUTPUTS = ("enriched_articles", "author_stats", "quarantine")
# Never part of a checkpoint: the identity file itself and a file system's own directory.
NOT_CHECKPOINT = {IDENTITY, "lost+found"}


def log(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


class Unreachable(Exception):
    """The checkpoint's bucket cannot be read or written (missing, or no rights)."""


class LocalRoot:
    """The checkpoint in a local directory (the PVC's mount path)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.deletable = "the checkpoint PVC"  # what a user deletes to drop the checkpoint

    def __str__(self) -> str:
        return str(self.path)

    def entries(self) -> list[str]:
        self.path.mkdir(parents=True, exist_ok=True)
        return sorted(p.name for p in self.path.iterdir() if p.name not in NOT_CHECKPOINT)

    def read_identity(self) -> dict[str, object] | None:
        recorded_file = self.path / IDENTITY
        return json.loads(recorded_file.read_text()) if recorded_file.is_file() else None

    def write_identity(self, identity: dict[str, object]) -> None:
        temporary = self.path / f"{IDENTITY}.tmp"
        temporary.write_text(json.dumps(identity))
        temporary.replace(self.path / IDENTITY)

    def empty(self, entries: list[str]) -> None:
        for name in entries:
            entry = self.path / name
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


class S3Root:
    """The checkpoint under s3://bucket/prefix (objects; "directories" are key prefixes)."""

    def __init__(self, location: str, s3: object) -> None:
        bucket, _, prefix = location.split("://", 1)[1].partition("/")
        self.bucket, self.prefix, self.s3 = bucket, prefix.strip("/"), s3
        self.deletable = f"every object under {self}/"

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _keys(self) -> list[str]:
        """Every key under prefix/ (the identity included)."""
        keys = []
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/")  # type: ignore[attr-defined]
            for page in pages:
                keys += [item["Key"] for item in page.get("Contents", [])]
        except ClientError as error:
            raise unreachable(error) from error
        return keys

    def _name(self, key: str) -> str:
        """The entry a key belongs to: its first path component under prefix/."""
        return key[len(self.prefix) + 1 :].split("/", 1)[0]

    def entries(self) -> list[str]:
        # "" is a directory marker of prefix/ itself (S3A writes them), not an entry
        return sorted({self._name(key) for key in self._keys()} - {IDENTITY, ""})

    def read_identity(self) -> dict[str, object] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{IDENTITY}")["Body"].read()  # type: ignore[attr-defined]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise unreachable(error) from error
        return json.loads(body)  # type: ignore[no-any-return]

    def write_identity(self, identity: dict[str, object]) -> None:
        try:
            self.s3.put_object(  # type: ignore[attr-defined]
                Bucket=self.bucket,
                Key=f"{self.prefix}/{IDENTITY}",
                Body=json.dumps(identity).encode(),
                ContentType="application/json",
            )
        except ClientError as error:
            raise unreachable(error) from error

    def empty(self, entries: list[str]) -> None:
        doomed = [key for key in self._keys() if self._name(key) in set(entries)]
        for start in range(0, len(doomed), 1000):  # DeleteObjects takes up to 1000 keys
            batch = [{"Key": key} for key in doomed[start : start + 1000]]
            try:
                answer = self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})  # type: ignore[attr-defined]
            except ClientError as error:
                raise unreachable(error) from error
            if answer.get("Errors"):
                raise Unreachable(f"s3://{self.bucket}: DeleteObjects failed for {answer['Errors'][:3]}")


def unreachable(error: ClientError) -> Unreachable:
    details = error.response.get("Error", {})
    return Unreachable(f"{details.get('Code', '?')}: {details.get('Message', error)}")


Root = LocalRoot | S3Root


def checkpoint_root(location: str, s3: object) -> Root:
    if location.startswith(("s3://", "s3a://")):
        return S3Root(location, s3)
    return LocalRoot(Path(location))


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


def same_stream(recorded: dict[str, object], identity: dict[str, object]) -> bool:
    created = recorded.get("stream_created")
    return (
        recorded.get("stream") == identity["stream"]
        and isinstance(created, (int, float))
        and abs(created - float(identity["stream_created"])) <= 0.001  # type: ignore[arg-type]
    )


def guard(root: Root, *, stream: str, bucket: str, kinesis: object, s3: object, env: dict[str, str]) -> int:
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]  # type: ignore[attr-defined]
    identity = {"stream": stream, "stream_created": summary["StreamCreationTimestamp"].timestamp()}
    try:
        return check(root, identity, bucket=bucket, s3=s3, env=env)
    except Unreachable as error:
        log(
            "checkpoint_unreachable",
            checkpoint=str(root),
            error=str(error),
            fix="the checkpoint's bucket must exist and the driver's role may list, read, write and delete "
            "objects in it: create it, grant the rights, or correct spark-job.checkpoint.location",
        )
        return 1


def check(root: Root, identity: dict[str, object], *, bucket: str, s3: object, env: dict[str, str]) -> int:
    entries = root.entries()
    recorded = root.read_identity()
    if entries and recorded is not None and not same_stream(recorded, identity):
        if env.get("ON_STREAM_RECREATED", "fail") != "reset":
            log(
                "checkpoint_of_earlier_stream",
                checkpoint=str(root),
                checkpoint_for=recorded,
                stream_now=identity,
                fix=f"the stream was recreated: delete {root.deletable} (and the outputs of the "
                "earlier stream), or set spark-job.checkpoint.onStreamRecreated=reset",
            )
            return 1
        root.empty(entries)
        log("checkpoint_reset", checkpoint=str(root), removed=entries, was_for=recorded, now=identity)
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
    root.write_identity(identity)
    log(
        "checkpoint_ok",
        checkpoint=str(root),
        resumed=bool(entries),
        identity=identity,
        **({"outputs_without_data": empty_outputs} if empty_outputs else {}),
    )
    return 0


def kinesis_client(region: str, endpoint: str | None, **config: Any) -> Any:
    """Kinesis as the pod's own credentials or, with KINESIS_ROLE_ARN (a stream in another account),
    as that role: assumed by the application's code in the image (common.aws), on the same settings."""
    if not os.environ.get("KINESIS_ROLE_ARN"):
        return boto3.client("kinesis", region_name=region, endpoint_url=endpoint, config=Config(**config))
    from common.aws import client  # noqa: PLC0415 - the role alone needs the application's code
    from common.settings import PipelineEnv  # noqa: PLC0415

    return client("kinesis", PipelineEnv().aws("checkpoint-guard"), **config)


def main() -> int:
    env = dict(os.environ)
    endpoint = env.get("AWS_ENDPOINT_URL") or None
    region = env.get("AWS_REGION", "us-east-1")
    config: dict[str, Any] = {
        "connect_timeout": 3,
        "read_timeout": 10,
        "retries": {"max_attempts": 5, "mode": "standard"},
    }
    kinesis = kinesis_client(region, endpoint, **config)
    s3 = boto3.client("s3", region_name=region, endpoint_url=endpoint, config=Config(**config))
    return guard(
        checkpoint_root(env["CHECKPOINT_LOCATION"], s3),
        stream=env["KINESIS_STREAM_NAME"],
        bucket=env["S3_BUCKET_NAME"],
        kinesis=kinesis,
        s3=s3,
        env=env,
    )


if __name__ == "__main__":
    sys.exit(main())
