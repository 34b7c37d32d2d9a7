"""How the job classifies a streaming query that S3 failed: a real Spark failure, not a made-up one.

When S3 answers 500/503 to the PUT of a data file, Spark reports the query's failure as
TASK_WRITE_FAILED; the S3 error sits in the causes (in pyspark, sometimes only in their stack-trace
text). The job must read it there, so that it restarts the query instead of exiting (an outage
of S3, not a bug in the job).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fault_proxy import FaultProxy
from pipeline_testing import wait_until

from common.settings import AwsSettings
from jobs.jvm_errors import failure_text
from jobs.outage import endpoint_of, is_transient

pytestmark = pytest.mark.integration


def is_data_file_put(method: str, path: str) -> bool:
    return method == "PUT" and "/part-" in path


def test_a_write_failed_by_s3_errors_is_transient_and_names_s3(
    spark: Any, s3: Any, moto_endpoint: str, tmp_path: Path
) -> None:
    bucket = f"failing-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    proxy = FaultProxy(moto_endpoint, applies_to=is_data_file_put).start()
    # this bucket alone goes through the proxy (S3A per-bucket settings; read when the bucket is first used)
    spark.sparkContext._jsc.hadoopConfiguration().set(f"fs.s3a.bucket.{bucket}.endpoint", proxy.url)
    query = (
        spark.readStream.format("rate")
        .option("rowsPerSecond", 20)
        .load()
        .writeStream.format("delta")
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .trigger(processingTime="1 second")
        .start(f"s3://{bucket}/table")
    )
    try:
        wait_until(lambda: query.lastProgress, 120, "the first batch commits through the proxy")
        proxy.mode = "error"
        wait_until(lambda: not query.isActive, 120, "the query fails on the S3 errors")
    finally:
        query.stop()
        proxy.stop()
    error = query.exception()
    assert error is not None
    assert proxy.requests["error"] > 0, proxy.requests
    assert not is_transient(str(error)), "the summary alone looks permanent: the causes decide"
    text = failure_text(error)
    assert is_transient(text), text[-3000:]
    aws = AwsSettings(region="us-east-1", endpoint_url=moto_endpoint, s3_endpoint_url=proxy.url)
    assert endpoint_of(text, aws) == f"S3 at {proxy.url}"
