"""``benchmem``: an in-process streaming source over records already on local disk (Arrow IPC).

The baseline of the job-throughput benchmark. It delivers exactly the rows the Kinesis source
delivers (same schema, same records, same sequence numbers and arrival times, one partition
per shard, the same per-shard batch limit, 4096-row Arrow batches) but from a memory-mapped
Arrow file instead of the emulator, so the difference in throughput is the cost of Kinesis.

Options: ``path`` (directory of ``<shard>.arrow`` files), ``maxRecordsPerShard`` (10000).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.streaming.datasource import SupportsTriggerAvailableNow
from pyspark.sql.types import StructType

_CHUNK_ROWS = 4096


def write_shard_files(directory: str, shards: dict[str, list[Any]]) -> None:
    """Write each shard's ``KinesisRecord``s as ``<shard>.arrow`` in the Kinesis source's schema."""
    import pyarrow as pa

    from jobs.kinesis.source import records_to_arrow

    os.makedirs(directory, exist_ok=True)
    for shard_id, records in shards.items():
        batches = list(records_to_arrow(records, shard_id))
        if not batches:
            continue
        with (
            pa.OSFile(os.path.join(directory, f"{shard_id}.arrow"), "wb") as sink,
            pa.ipc.new_file(sink, batches[0].schema) as writer,
        ):
            for batch in batches:
                writer.write_batch(batch)


def _row_counts(directory: str) -> dict[str, int]:
    import pyarrow as pa

    counts = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".arrow"):
            with pa.memory_map(os.path.join(directory, name)) as source:
                counts[name[: -len(".arrow")]] = pa.ipc.open_file(source).read_all().num_rows
    return counts


class MemPartition(InputPartition):
    def __init__(self, path: str, shard: str, begin: int, end: int) -> None:
        super().__init__(shard)
        self.path, self.shard, self.begin, self.end = path, shard, begin, end


class MemStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    def __init__(self, path: str, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.totals = _row_counts(path)

    def initialOffset(self) -> dict[str, int]:
        return {shard: 0 for shard in self.totals}

    def latestOffset(self, start: dict[str, int], limit: Any) -> dict[str, int]:  # noqa: ARG002 - Spark's or boto3's signature
        return {shard: min(total, start.get(shard, 0) + self.limit) for shard, total in self.totals.items()}

    def prepareForTriggerAvailableNow(self) -> None:
        pass

    def partitions(self, start: dict[str, int], end: dict[str, int]) -> list[MemPartition]:
        return [
            MemPartition(self.path, shard, start.get(shard, 0), end[shard])
            for shard in end
            if end[shard] > start.get(shard, 0)
        ]

    def read(self, partition: MemPartition) -> Iterator[Any]:  # type: ignore[override]
        import pyarrow as pa

        with pa.memory_map(os.path.join(partition.path, f"{partition.shard}.arrow")) as source:
            table = pa.ipc.open_file(source).read_all().slice(partition.begin, partition.end - partition.begin)
            yield from table.combine_chunks().to_batches(max_chunksize=_CHUNK_ROWS)

    def commit(self, end: dict[str, int]) -> None:
        pass


class MemDataSource(DataSource):
    @classmethod
    def name(cls) -> str:
        return "benchmem"

    def schema(self) -> StructType:
        from jobs.kinesis.source import SOURCE_SCHEMA

        return SOURCE_SCHEMA

    def streamReader(self, schema: StructType) -> MemStreamReader:  # noqa: ARG002 - Spark's or boto3's signature
        options = {key.lower(): value for key, value in dict(self.options).items()}
        return MemStreamReader(options["path"], int(options.get("maxrecordspershard", "10000")))
