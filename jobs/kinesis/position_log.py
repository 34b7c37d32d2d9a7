"""The shard-position log: where each batch stopped reading each shard, written once.

Layout: ``<root>/<run>/<batch:012d>/<shard id>.json``. ``root`` is a local directory (a PVC in
Kubernetes) or ``s3://bucket/prefix``. Each entry is written atomically and only if absent:
locally by hard-linking a fully written temporary file (``link`` fails when the name exists),
on S3 with a conditional ``PutObject`` (``If-None-Match: *``). The first successful attempt of
a task wins; a retried or speculative attempt adopts the winner's end, so a replayed batch
returns exactly the same records. ``run`` is the checkpoint's own id, so a log left behind by
a deleted checkpoint can never be mistaken for the current one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any, Protocol

from common.aws import S3_SCHEME, s3_bucket_and_key
from common.settings import AwsSettings
from jobs.kinesis.positions import ShardEnd

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef


class PositionLog(Protocol):
    """Put-if-absent storage of ``ShardEnd`` entries keyed by (batch, shard)."""

    def get(self, batch: int, shard_id: str) -> ShardEnd | None: ...

    def put_if_absent(self, batch: int, shard_id: str, entry: ShardEnd) -> ShardEnd: ...

    def purge_before(self, batch: int) -> int: ...


def _batch_dir(batch: int) -> str:
    return f"{batch:012d}"


class LocalPositionLog:
    """Entries as files under a local (or PVC-mounted) directory."""

    def __init__(self, root: str, run: str) -> None:
        self.directory = os.path.join(root, run)

    def _path(self, batch: int, shard_id: str) -> str:
        return os.path.join(self.directory, _batch_dir(batch), f"{shard_id}.json")

    def get(self, batch: int, shard_id: str) -> ShardEnd | None:
        try:
            with open(self._path(batch, shard_id), encoding="utf-8") as handle:
                return ShardEnd.from_json(json.load(handle))
        except FileNotFoundError:
            return None

    def put_if_absent(self, batch: int, shard_id: str, entry: ShardEnd) -> ShardEnd:
        path = self._path(batch, shard_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(entry.to_json(), out)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                existing = self.get(batch, shard_id)
                assert existing is not None
                return existing
            return entry
        finally:
            os.unlink(temporary)

    def purge_before(self, batch: int) -> int:
        if not os.path.isdir(self.directory):
            return 0
        removed = 0
        for name in os.listdir(self.directory):
            if name.isdigit() and int(name) < batch:
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
                removed += 1
        return removed


class S3PositionLog:
    """Entries as objects under ``s3://bucket/prefix/<run>/``, written with If-None-Match."""

    def __init__(self, root: str, run: str, aws: AwsSettings) -> None:
        bucket, prefix = s3_bucket_and_key(root)
        self.bucket = bucket
        self.prefix = f"{prefix.rstrip('/')}/{run}/".lstrip("/")
        self.aws = aws
        self._client: S3Client | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None}

    @property
    def client(self) -> S3Client:
        if self._client is None:
            from common.aws import client

            self._client = client("s3", self.aws)
        return self._client

    def _key(self, batch: int, shard_id: str) -> str:
        return f"{self.prefix}{_batch_dir(batch)}/{shard_id}.json"

    def get(self, batch: int, shard_id: str) -> ShardEnd | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(batch, shard_id))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return ShardEnd.from_json(json.loads(body))

    def put_if_absent(self, batch: int, shard_id: str, entry: ShardEnd) -> ShardEnd:
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(batch, shard_id),
                Body=json.dumps(entry.to_json()).encode(),
                IfNoneMatch="*",
            )
            return entry
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
        existing = self.get(batch, shard_id)
        assert existing is not None
        return existing

    def purge_before(self, batch: int) -> int:
        paginator = self.client.get_paginator("list_objects_v2")
        stale: list[ObjectIdentifierTypeDef] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                batch_name = item["Key"][len(self.prefix) :].split("/", 1)[0]
                if batch_name.isdigit() and int(batch_name) < batch:
                    stale.append({"Key": item["Key"]})
        for start in range(0, len(stale), 1000):
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": stale[start : start + 1000]})
        return len({key["Key"].rsplit("/", 2)[-2] for key in stale})


def open_position_log(root: str, run: str, aws: AwsSettings) -> PositionLog:
    """The log for ``root``: ``s3://...`` on S3, anything else a local directory."""
    if root.startswith(S3_SCHEME):
        return S3PositionLog(root, run, aws)
    return LocalPositionLog(root, run)
