"""The Delta tables on S3 (moto): appends once per batch, readable by every reader, compacted safely, evolvable."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from common.settings import AwsSettings
from jobs.articles_writer import ArticlesBatchWriter
from jobs.output_tables import enriched_rows
from jobs.settings import JobSettings
from ops.outputs import delta_storage_options, open_table, read_output
from publisher.articles import ArticleGenerator

pytestmark = pytest.mark.integration
ARRIVAL = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def parsed_batch(spark: Any, articles: list[dict[str, Any]], malformed: tuple[bytes, ...] = ()) -> Any:
    """A micro-batch as the articles query hands it to foreachBatch: source rows through the job's parser."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_schema

    from jobs.parsing import parse_batches, parsed_arrow_schema

    payloads = [json.dumps(article).encode() for article in articles] + list(malformed)
    source = pa.RecordBatch.from_pydict(
        {
            "data": payloads,
            "shard_id": ["shardId-000000000000"] * len(payloads),
            "sequence_number": [str(10_000 + n) for n in range(len(payloads))],
            "sub_sequence_number": [None] * len(payloads),
            "arrival_time": [ARRIVAL] * len(payloads),
        }
    )
    parsed = pa.Table.from_batches(list(parse_batches(iter([source]))), schema=parsed_arrow_schema())
    return spark.createDataFrame(parsed.to_pandas(), schema=from_arrow_schema(parsed_arrow_schema()))


def checkpoint(tmp_path: Path) -> str:
    """A query checkpoint directory with the metadata Spark writes at a query's first start."""
    directory = tmp_path / f"checkpoint-{uuid.uuid4().hex[:6]}"
    directory.mkdir()
    (directory / "metadata").write_text(json.dumps({"id": str(uuid.uuid4())}) + "\n")
    return str(directory)


def settings_for(aws: AwsSettings, bucket: str, tmp_path: Path) -> JobSettings:
    return JobSettings.from_env(
        {
            "AWS_ENDPOINT_URL": aws.endpoint_url or "",
            "AWS_REGION": aws.region,
            "S3_BUCKET_NAME": bucket,
            "CHECKPOINT_LOCATION": str(tmp_path / "checkpoints"),
        }
    )


def articles(count: int, seed: int = 3) -> list[dict[str, Any]]:
    generator = ArticleGenerator(seed=seed, authors=3)
    return [generator.article(ARRIVAL - timedelta(minutes=count - n)) for n in range(count)]


def test_a_replayed_batch_is_skipped_and_a_new_checkpoint_is_not(
    spark: Any, aws: AwsSettings, s3: Any, names: dict[str, str], tmp_path: Path
) -> None:
    s3.create_bucket(Bucket=names["bucket"])
    settings = settings_for(aws, names["bucket"], tmp_path)
    first = articles(20)
    writer = ArticlesBatchWriter(settings, checkpoint(tmp_path))
    writer(parsed_batch(spark, first, (b"{broken",)), 0)
    writer(parsed_batch(spark, first, (b"{broken",)), 0)  # the same batch after a crash: Delta skips it
    assert read_output(aws, names["bucket"], "enriched_articles").num_rows == 20
    assert read_output(aws, names["bucket"], "quarantine").num_rows == 1
    # A recreated checkpoint counts batches from 0 again: its appends must not be taken for replays.
    later = articles(5, seed=4)
    ArticlesBatchWriter(settings, checkpoint(tmp_path))(parsed_batch(spark, later), 0)
    ids = Counter(read_output(aws, names["bucket"], "enriched_articles").column("article_id").to_pylist())
    assert len(ids) == 25 and set(ids.values()) == {1}


def test_spark_deltalake_polars_and_duckdb_read_the_same_rows(
    spark: Any, aws: AwsSettings, s3: Any, names: dict[str, str], tmp_path: Path
) -> None:
    import duckdb
    import polars as pl

    s3.create_bucket(Bucket=names["bucket"])
    settings = settings_for(aws, names["bucket"], tmp_path)
    writer = ArticlesBatchWriter(settings, checkpoint(tmp_path))
    for batch_id in range(3):
        writer(parsed_batch(spark, articles(10, seed=10 + batch_id)), batch_id)
    path = settings.table_path("enriched_articles")

    by_spark = {row["article_id"] for row in spark.read.format("delta").load(path).select("article_id").collect()}
    arrow = read_output(aws, names["bucket"], "enriched_articles")
    by_deltalake = set(arrow.column("article_id").to_pylist())
    by_polars = set(pl.read_delta(path, storage_options=delta_storage_options(aws))["article_id"].to_list())
    by_duckdb = {row[0] for row in duckdb.sql("SELECT article_id FROM arrow").fetchall()}
    assert len(by_spark) == 30
    assert by_spark == by_deltalake == by_polars == by_duckdb

    # The reader-compatibility contract: protocol (1, 2), no optional features, microsecond timestamps.
    table = open_table(aws, names["bucket"], "enriched_articles")
    protocol = table.protocol()
    assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)
    assert not (protocol.reader_features or protocol.writer_features)
    assert str(arrow.schema.field("published_at").type) == "timestamp[us, tz=UTC]"
    assert table.metadata().partition_columns == ["date"]


def test_compaction_keeps_every_row_once_for_readers_and_delta_streams(
    spark: Any, aws: AwsSettings, s3: Any, names: dict[str, str], tmp_path: Path
) -> None:
    import dataclasses

    s3.create_bucket(Bucket=names["bucket"])
    settings = dataclasses.replace(settings_for(aws, names["bucket"], tmp_path), compact_every_batches=4)
    writer = ArticlesBatchWriter(settings, checkpoint(tmp_path))
    for batch_id in range(9):
        writer(parsed_batch(spark, articles(5, seed=100 + batch_id)), batch_id)
    table = open_table(aws, names["bucket"], "enriched_articles")
    operations = [entry["operation"] for entry in table.history()]
    assert operations.count("OPTIMIZE") == 2, f"batches 4 and 8 compact: {operations}"
    assert len(table.file_uris()) < 9, "small files were compacted"
    assert read_output(aws, names["bucket"], "enriched_articles").num_rows == 45
    # A Delta stream (what author_stats reads) skips compaction commits: each row arrives once.
    stream = (
        spark.readStream.format("delta")
        .load(settings.table_path("enriched_articles"))
        .writeStream.format("memory")
        .queryName(f"compacted_{uuid.uuid4().hex[:6]}")
        .trigger(availableNow=True)
        .start()
    )
    stream.awaitTermination(300)
    seen = Counter(row["article_id"] for row in spark.table(stream.name).collect())
    assert len(seen) == 45 and set(seen.values()) == {1}


def test_vacuum_after_compaction_deletes_the_replaced_files(
    spark: Any, aws: AwsSettings, s3: Any, names: dict[str, str], tmp_path: Path
) -> None:
    """Storage does not grow without bound: past the retention, files OPTIMIZE replaced are deleted."""
    import dataclasses

    s3.create_bucket(Bucket=names["bucket"])
    settings = dataclasses.replace(settings_for(aws, names["bucket"], tmp_path), compact_every_batches=3)
    writer = ArticlesBatchWriter(settings, checkpoint(tmp_path), vacuum_every_compactions=1)
    writer(parsed_batch(spark, articles(5, seed=300)), 0)
    path = settings.table_path("enriched_articles")
    # Retention 0 only here: the job keeps Delta's 7 days so no reader ever loses a file.
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
    try:
        spark.sql(
            f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('delta.deletedFileRetentionDuration' = 'interval 0 hours')"
        )
        for batch_id in range(1, 4):
            writer(parsed_batch(spark, articles(5, seed=300 + batch_id)), batch_id)
    finally:
        spark.conf.unset("spark.databricks.delta.retentionDurationCheck.enabled")
    table = open_table(aws, names["bucket"], "enriched_articles")
    stored = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=names["bucket"], Prefix="enriched_articles/")
        for item in page.get("Contents", [])
        if item["Key"].endswith(".parquet") and "/_delta_log/" not in item["Key"]
    ]
    assert len(stored) == len(table.file_uris()) == 1, stored
    assert read_output(aws, names["bucket"], "enriched_articles").num_rows == 20


def test_an_added_optional_field_evolves_the_table(
    spark: Any, aws: AwsSettings, s3: Any, names: dict[str, str], tmp_path: Path
) -> None:
    from pyspark.sql import functions as F

    s3.create_bucket(Bucket=names["bucket"])
    settings = settings_for(aws, names["bucket"], tmp_path)
    writer = ArticlesBatchWriter(settings, checkpoint(tmp_path))
    writer(parsed_batch(spark, articles(4)), 0)
    # A later contract adds an optional column: the next append carries it, without a restart.
    stamped = parsed_batch(spark, articles(3, seed=8)).withColumn("processed_at", F.current_timestamp())
    writer.append(enriched_rows(stamped).withColumn("language", F.lit("en")), "enriched_articles", 1)
    rows = read_output(aws, names["bucket"], "enriched_articles").to_pylist()
    assert len(rows) == 7
    assert sorted(str(row["language"]) for row in rows) == ["None"] * 4 + ["en"] * 3
