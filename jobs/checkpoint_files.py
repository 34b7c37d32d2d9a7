"""Small files in Spark's checkpoints, on a local directory (a PVC in Kubernetes) or on S3.

Spark writes its checkpoints itself (``s3://`` through S3A). The job reads what Spark keeps there
(the query id in ``metadata``; the offset and commit logs for ``make status``) and keeps small
files of its own beside them (``watermark-drops.json``). ``checkpoint_files(location, aws)``
gives the one interface for both places; each write replaces a whole file at once (a rename
locally, a single ``PutObject`` on S3), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import TYPE_CHECKING, Protocol

from common.aws import S3_SCHEME, client, s3_bucket_and_key
from common.settings import AwsSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class CheckpointFiles(Protocol):
    """Whole-file reads and writes by full path (a local path or an ``s3://`` URL)."""

    def read_text(self, path: str) -> str | None:
        """The file's text, None if there is no such file."""
        ...

    def write_text(self, path: str, text: str) -> None:
        """Create or replace the file with ``text`` at once."""
        ...

    def names(self, directory: str) -> list[str]:
        """The names of the files directly in ``directory`` (none if it does not exist)."""
        ...


class LocalFiles:
    """Files under a local directory or a mounted volume."""

    def read_text(self, path: str) -> str | None:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def write_text(self, path: str, text: str) -> None:
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)

    def names(self, directory: str) -> list[str]:
        return [entry.name for entry in os.scandir(directory) if entry.is_file()] if os.path.isdir(directory) else []


class S3Files:
    """Objects under ``s3://bucket/prefix``, read and written with boto3 (the same bucket Spark writes with S3A)."""

    def __init__(self, aws: AwsSettings) -> None:
        self.aws = aws
        self._client: S3Client | None = None

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = client("s3", self.aws)
        return self._client

    def read_text(self, path: str) -> str | None:
        bucket, key = s3_bucket_and_key(path)
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return body.decode("utf-8")

    def write_text(self, path: str, text: str) -> None:
        bucket, key = s3_bucket_and_key(path)
        self.client.put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))

    def names(self, directory: str) -> list[str]:
        bucket, prefix = s3_bucket_and_key(directory.rstrip("/") + "/")
        paginator = self.client.get_paginator("list_objects_v2")
        return [
            item["Key"][len(prefix) :]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/")
            for item in page.get("Contents", [])
            if item["Key"] != prefix  # a directory marker S3A may leave
        ]


def checkpoint_files(location: str, aws: AwsSettings) -> CheckpointFiles:
    """The files of checkpoints at ``location``: on S3 for ``s3://...``, else local."""
    return S3Files(aws) if location.startswith(S3_SCHEME) else LocalFiles()


def checkpoint_query_id(files: CheckpointFiles, checkpoint_dir: str) -> str:
    """The query id Spark keeps in ``<checkpoint>/metadata``: stable across restarts, new with a new checkpoint.

    Parameters
    ----------
    files : CheckpointFiles
        Where the checkpoint lives (``checkpoint_files``).
    checkpoint_dir : str
        The query's checkpoint directory, after the query's first start wrote it.

    Returns
    -------
    str
        The ``id`` of the file's first line, a UUID.
    """
    text = files.read_text(os.path.join(checkpoint_dir, "metadata"))
    if text is None:
        raise FileNotFoundError(f"{checkpoint_dir}/metadata: the query has not started from this checkpoint yet")
    return str(json.loads(text.splitlines()[0])["id"])
