"""Reading the pipeline's outputs and its input stream, as any downstream reader would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from common.aws import client, s3_filesystem
from common.settings import AwsSettings


def read_output(aws: AwsSettings, bucket: str, prefix: str) -> Any:
    """A pyarrow Table of every Parquet object under ``s3://bucket/prefix`` (hive ``date=`` partitions)."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    from pyarrow import fs

    filesystem = s3_filesystem(aws)
    selector = fs.FileSelector(f"{bucket}/{prefix}", recursive=True, allow_not_found=True)
    files = [
        info.path
        for info in filesystem.get_file_info(selector)
        if info.type == fs.FileType.File and info.path.endswith(".parquet") and "/_" not in info.path
    ]
    if not files:
        return pa.table({})
    dataset = ds.dataset(
        files,
        filesystem=filesystem,
        format="parquet",
        partitioning=ds.partitioning(flavor="hive"),
        partition_base_dir=f"{bucket}/{prefix}",
    )
    return dataset.to_table()


def stream_records(aws: AwsSettings, stream_name: str) -> Iterator[dict[str, Any]]:
    """Every record in the stream, all shards, from TRIM_HORIZON to the tip."""
    kinesis = client("kinesis", aws)
    shards = kinesis.list_shards(StreamName=stream_name)["Shards"]
    for shard in shards:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            for record in response["Records"]:
                yield {**record, "ShardId": shard["ShardId"]}
            if not response["Records"] and response.get("MillisBehindLatest", 0) == 0:
                break
            iterator = response.get("NextShardIterator")
