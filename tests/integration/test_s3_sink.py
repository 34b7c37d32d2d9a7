"""The s3parquet sink: replays overwrite, aborted attempts leave nothing, any reader sees rows once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from common.settings import AwsSettings
from ops.outputs import read_output

pytestmark = pytest.mark.integration


def rows(count: int) -> list[tuple[int, str, str]]:
    return [(i, f"author-{i % 3}", "2026-11-22" if i % 2 else "2026-11-23") for i in range(count)]


def write(frame: Any, path: str, batch_id: int, endpoint: str | None) -> None:
    writer = (
        frame.repartition("date")
        .write.format("s3parquet")
        .option("path", path)
        .option("batchId", batch_id)
        .option("partitionColumn", "date")
        .option("rowGroupRows", "16")
    )
    if endpoint:
        writer = writer.option("endpointUrl", endpoint)
    writer.mode("append").save()


def test_replayed_batches_overwrite_and_readers_see_each_row_once(
    spark: Any, aws: AwsSettings, s3: Any, moto_endpoint: str, names: dict
) -> None:
    s3.create_bucket(Bucket=names["bucket"])
    frame = spark.createDataFrame(rows(100), "id INT, author STRING, date STRING")
    path = f"s3://{names['bucket']}/enriched_articles"
    for _attempt in range(3):  # the same batch written three times, as replays after crashes would
        write(frame, path, 7, moto_endpoint)
    write(
        spark.createDataFrame([(1000, "late", "2026-11-23")], "id INT, author STRING, date STRING"),
        path,
        8,
        moto_endpoint,
    )
    table = read_output(aws, names["bucket"], "enriched_articles")
    assert sorted(table.column("id").to_pylist()) == [*list(range(100)), 1000]
    assert set(table.column("date").to_pylist()) == {"2026-11-22", "2026-11-23"}
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=names["bucket"])["Contents"]]
    data_keys = [k for k in keys if k.endswith(".parquet")]
    assert len(data_keys) == 3, "one object per (batch, date)"
    assert all("/part-0000000007-" in k or "/part-0000000008-" in k for k in data_keys)
    manifest = json.loads(
        s3.get_object(Bucket=names["bucket"], Key="enriched_articles/_manifests/batch-0000000007.json")["Body"].read()
    )
    assert manifest["rows"] == 100 and sorted(manifest["files"]) == sorted(
        f"{names['bucket']}/{k}" for k in data_keys if "-0000000007-" in k
    )


def test_a_failed_batch_then_its_replay_leave_each_row_once(
    spark: Any, aws: AwsSettings, s3: Any, moto_endpoint: str, names: dict
) -> None:
    from pyspark.sql import functions as F

    s3.create_bucket(Bucket=names["bucket"])
    frame = spark.createDataFrame(rows(40), "id INT, author STRING, date STRING")
    # The task holding id 39 fails while the other task writes its object; the write job aborts.
    # (abort() deletes the batch's objects; a straggler task may still finish after it, which is
    # why replays must overwrite, not add.)
    exploding = frame.withColumn("id", F.when(F.col("id") == 39, F.raise_error(F.lit("boom"))).otherwise(F.col("id")))
    with pytest.raises(Exception, match="boom"):
        write(exploding, f"s3://{names['bucket']}/out", 3, moto_endpoint)
    write(frame, f"s3://{names['bucket']}/out", 3, moto_endpoint)  # the replay after a restart
    table = read_output(aws, names["bucket"], "out")
    assert sorted(table.column("id").to_pylist()) == list(range(40))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=names["bucket"])["Contents"] if o["Key"].endswith(".parquet")]
    assert len(keys) == 2 and all("/part-0000000003-" in key for key in keys)


def test_duckdb_and_pyarrow_read_a_local_output_once(spark: Any, tmp_path: Path) -> None:
    import duckdb
    import pyarrow.dataset as ds

    frame = spark.createDataFrame(rows(50), "id INT, author STRING, date STRING")
    for _attempt in range(2):
        write(frame, str(tmp_path / "out"), 1, None)
    count = duckdb.sql(
        f"SELECT count(*), count(DISTINCT id) FROM read_parquet('{tmp_path}/out/*/*.parquet', hive_partitioning = true)"
    ).fetchall()[0]
    assert count == (50, 50)
    table = ds.dataset(
        tmp_path / "out", format="parquet", partitioning="hive", exclude_invalid_files=True, ignore_prefixes=["_", "."]
    ).to_table()
    assert table.num_rows == 50
    assert (tmp_path / "out" / "_manifests" / "batch-0000000001.json").exists()


def test_sink_options_are_validated(spark: Any) -> None:
    frame = spark.createDataFrame(rows(1), "id INT, author STRING, date STRING")
    with pytest.raises(Exception, match="batchId"):
        frame.write.format("s3parquet").option("path", "/tmp/x").mode("append").save()
