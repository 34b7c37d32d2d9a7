"""Reading the pipeline's outputs and its input stream, as any downstream reader would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from common.aws import client
from common.settings import AwsSettings

if TYPE_CHECKING:
    from mypy_boto3_kinesis.type_defs import RecordTypeDef

    class ShardRecord(RecordTypeDef):
        """A record of GetRecords' answer, with the shard it was read from."""

        ShardId: str


def delta_storage_options(aws: AwsSettings) -> dict[str, str]:
    """deltalake (delta-rs) options for the same S3 as ``common.aws.client('s3', aws)``; keys from the environment."""
    options = {"AWS_REGION": aws.region}
    endpoint = aws.endpoint_for("s3")
    if endpoint:
        options |= {"AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true", "AWS_S3_ADDRESSING_STYLE": "path"}
    return options


def open_table(aws: AwsSettings, bucket: str, table: str) -> Any:
    """The Delta table ``s3://bucket/table`` through its log (deltalake), or None before its first commit."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        return DeltaTable(f"s3://{bucket}/{table}", storage_options=delta_storage_options(aws))
    except TableNotFoundError:
        return None
    except OSError as error:
        if "NoSuchBucket" in str(error):  # before the publisher made the bucket: no table yet either
            return None
        raise


def read_output(aws: AwsSettings, bucket: str, table: str) -> Any:
    """A pyarrow Table of the current version of the Delta table ``s3://bucket/table`` (empty before it exists)."""
    import pyarrow as pa

    delta = open_table(aws, bucket, table)
    return pa.table({}) if delta is None else delta.to_pyarrow_table()


def stream_records(aws: AwsSettings, stream_name: str) -> Iterator[ShardRecord]:
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
