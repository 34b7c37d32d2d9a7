"""The ``s3parquet`` sink: Parquet on S3 (or a local path) that no reader sees twice.

Used from ``foreachBatch`` as ``df.write.format("s3parquet").option("path", "s3://bucket/prefix")
.option("batchId", id).mode("append").save()``.

- Object names are deterministic: ``<prefix>/date=YYYY-MM-DD/part-<batch>-<partition>.parquet``,
  so a replayed batch overwrites its own objects and never adds rows. Each task writes all its
  rows of one date into one object (callers coalesce a batch into one task), in row groups of
  ``rowGroupRows`` rows.
- S3 makes an object visible only once its upload completes, so no reader sees a partial file;
  ``abort`` deletes every object of the failed batch, reported by a task or not.
- ``commit`` writes ``<prefix>/_manifests/batch-<batch>.json`` listing the batch's objects and
  row counts: the audit trail ``make reconcile`` reads. Plain readers (pyarrow.dataset, DuckDB,
  Spark, Athena) can ignore it: names starting with ``_`` are skipped by all of them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceArrowWriter, WriterCommitMessage
from pyspark.sql.types import StructType

from common.settings import AwsSettings, SettingError


@dataclass
class WrittenFiles(WriterCommitMessage):
    """What one task wrote: object paths (without scheme) and their row counts."""

    files: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SinkOptions:
    path: str
    batch_id: int
    partition_column: str | None
    row_group_rows: int
    aws: AwsSettings

    @classmethod
    def from_options(cls, options: dict[str, str]) -> SinkOptions:
        lowered = {key.lower(): value for key, value in options.items()}
        if not lowered.get("path"):
            raise SettingError("s3parquet sink option 'path' is required (s3://bucket/prefix or a local directory)")
        if not lowered.get("batchid", "").isdigit():
            raise SettingError("s3parquet sink option 'batchId' is required: the foreachBatch batch id")
        return cls(
            path=lowered["path"].rstrip("/"),
            batch_id=int(lowered["batchid"]),
            partition_column=lowered.get("partitioncolumn") or None,
            row_group_rows=int(lowered.get("rowgrouprows", "65536")),
            aws=AwsSettings(region=lowered.get("region", "us-east-1"), endpoint_url=lowered.get("endpointurl") or None),
        )

    def filesystem(self) -> tuple[Any, str]:
        """(pyarrow filesystem, root path within it) for ``path``."""
        from pyarrow import fs

        if self.path.startswith("s3://"):
            from common.aws import s3_filesystem

            return s3_filesystem(self.aws), self.path.removeprefix("s3://")
        return fs.LocalFileSystem(), self.path


def _ensure_parent(filesystem: Any, name: str) -> None:
    """Create the parent directory on local filesystems; S3 has no directories to create."""
    if filesystem.type_name == "local":
        filesystem.create_dir(name.rsplit("/", 1)[0], recursive=True)


def object_name(
    root: str, batch_id: int, partition_id: int, partition_value: str | None, partition_column: str | None
) -> str:
    """The deterministic object name of one (batch, task, partition value)."""
    directory = f"{root}/{partition_column}={partition_value}" if partition_column else root
    return f"{directory}/part-{batch_id:010d}-{partition_id:05d}.parquet"


class S3ParquetWriter(DataSourceArrowWriter):
    def __init__(self, options: SinkOptions) -> None:
        self.options = options

    def write(self, iterator: Iterator[Any]) -> WrittenFiles:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
        from pyspark import TaskContext

        batches = list(iterator)
        written = WrittenFiles()
        if not batches or sum(b.num_rows for b in batches) == 0:
            return written
        table = pa.Table.from_batches(batches)
        filesystem, root = self.options.filesystem()
        context = TaskContext.get()
        assert context is not None, "write() runs in a Spark task"
        partition_id = context.partitionId()
        column = self.options.partition_column
        groups: list[tuple[str | None, Any]]
        if column:
            values = sorted(v for v in pc.unique(table[column]).to_pylist() if v is not None)
            groups = [(str(v), table.filter(pc.equal(table[column], v)).drop_columns([column])) for v in values]
        else:
            groups = [(None, table)]
        for value, rows in groups:
            name = object_name(root, self.options.batch_id, partition_id, value, column)
            _ensure_parent(filesystem, name)
            pq.write_table(
                rows, name, filesystem=filesystem, row_group_size=self.options.row_group_rows, compression="zstd"
            )
            written.files[name] = rows.num_rows
        return written

    def commit(self, messages: list[WrittenFiles | None]) -> None:  # type: ignore[override]
        filesystem, root = self.options.filesystem()
        files: dict[str, int] = {}
        for message in messages:
            if message is not None:
                files.update(message.files)
        manifest = {
            "batch_id": self.options.batch_id,
            "committed_at": datetime.now(timezone.utc).isoformat(),
            "rows": sum(files.values()),
            "files": dict(sorted(files.items())),
        }
        _ensure_parent(filesystem, f"{root}/_manifests/batch-{self.options.batch_id:010d}.json")
        with filesystem.open_output_stream(f"{root}/_manifests/batch-{self.options.batch_id:010d}.json") as out:
            out.write(json.dumps(manifest, indent=1).encode())

    def abort(self, messages: list[WrittenFiles | None]) -> None:  # type: ignore[override]
        """Delete every object of this batch: those reported, and those of tasks that never reported."""
        from pyarrow import fs

        filesystem, root = self.options.filesystem()
        names = {name for message in messages if message is not None for name in message.files}
        marker = f"/part-{self.options.batch_id:010d}-"
        for info in filesystem.get_file_info(fs.FileSelector(root, recursive=True, allow_not_found=True)):
            if info.type == fs.FileType.File and marker in info.path:
                names.add(info.path)
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                filesystem.delete_file(name)


class S3ParquetDataSource(DataSource):
    """``df.write.format("s3parquet")``: deterministic, manifest-committed Parquet objects."""

    @classmethod
    def name(cls) -> str:
        return "s3parquet"

    def writer(self, schema: StructType, overwrite: bool) -> S3ParquetWriter:  # noqa: ARG002 - Spark's or boto3's signature
        return S3ParquetWriter(SinkOptions.from_options(dict(self.options)))
