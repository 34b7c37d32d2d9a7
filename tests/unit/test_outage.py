"""What the job does when a query fails: restart through an outage, stop past the deadline or on a real error."""

import logging
import random

import pytest

from common.env import Duration
from common.settings import AwsSettings
from jobs.outage import OutageGuard, is_transient

pytestmark = pytest.mark.unit

LOCAL = AwsSettings(region="us-east-1", endpoint_url="http://127.0.0.1:4566")
S3_DOWN = (
    "[STREAM_FAILED] Query [id = 1] terminated with exception: s3a://my-bucket/enriched_articles/_delta_log: "
    "org.apache.hadoop.fs.s3a.AWSClientIOException: getFileStatus on s3a://my-bucket: "
    "software.amazon.awssdk.core.exception.SdkClientException: Unable to execute HTTP request: Connection refused"
)
KINESIS_DOWN = "botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def events(caplog: pytest.LogCaptureFixture) -> list[dict]:
    """The structured events logged, as the JSON log lines carry them."""
    return [{"event": r.getMessage(), **r.fields} for r in caplog.records if hasattr(r, "fields")]


def test_an_outage_is_retried_with_a_line_each_time_then_recovered(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    guard = OutageGuard(Duration(300_000), LOCAL, clock=clock, rng=random.Random(1))
    with caplog.at_level(logging.INFO):
        waits = []
        for _ in range(4):
            waits.append(guard.on_failure("articles", S3_DOWN))
            clock.now += 20
        guard.on_batch("articles")
    assert all(w is not None and 0.5 <= w <= 15 for w in waits)
    logged = events(caplog)
    retries = [e for e in logged if e["event"] == "outage_retry"]
    assert [e["attempt"] for e in retries] == [1, 2, 3, 4]
    assert retries[0]["endpoint"] == "S3 at http://127.0.0.1:4566"
    assert "Connection refused" in retries[0]["error"]
    assert [e["outage_seconds"] for e in logged if e["event"] == "outage_recovered"] == [80.0]


def test_past_the_deadline_the_job_stops_naming_the_endpoint(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    guard = OutageGuard(Duration(60_000), LOCAL, clock=clock)
    assert guard.on_failure("articles", KINESIS_DOWN) is not None
    clock.now += 61
    with caplog.at_level(logging.INFO):
        assert guard.on_failure("articles", KINESIS_DOWN) is None
    (stop,) = [e for e in events(caplog) if e["event"] == "outage_deadline_passed"]
    assert "Kinesis at http://127.0.0.1:4566" in stop["message"] and "RETRY_DEADLINE (1 minute)" in stop["message"]


def test_a_backoff_never_runs_past_the_deadline() -> None:
    clock = Clock()
    guard = OutageGuard(Duration(2_000), LOCAL, clock=clock, rng=random.Random(3))
    guard.on_failure("articles", KINESIS_DOWN)
    clock.now += 1.9
    wait = guard.on_failure("articles", KINESIS_DOWN)
    assert wait is not None and wait <= 0.1 + 1e-9


@pytest.mark.parametrize(
    "error",
    [
        "KinesisSourceError: stream 'articles' does not exist (ResourceNotFoundException)",
        "AnalysisException: [DELTA_MISSING_DELTA_TABLE]",
        "ListShards articles: still failing after 40 attempts over 300.0 s, the retry deadline "
        "(retryDeadlineSeconds=300): EndpointConnectionError",
    ],
)
def test_errors_a_retry_cannot_fix_stop_the_job_at_once(error: str) -> None:
    assert not is_transient(error)
    assert OutageGuard(Duration(300_000), LOCAL).on_failure("articles", error) is None


class JavaError:
    """A JVM exception as py4j shows it: toString() and getCause()."""

    def __init__(self, text: str, cause: "JavaError | None" = None) -> None:
        self.text, self.cause = text, cause

    def toString(self) -> str:
        return self.text

    def getCause(self) -> "JavaError | None":
        return self.cause


def test_the_cause_a_failed_query_hides_decides() -> None:
    """Spark reports TASK_WRITE_FAILED; the S3 error that makes it transient is two causes down."""
    from jobs.jvm_errors import failure_text

    root = JavaError("org.apache.hadoop.fs.s3a.AWSStatus500Exception: PUT 0 on author_stats: InternalError")
    cause = Exception("Task failed")
    cause._origin = JavaError("org.apache.spark.SparkException: Task failed", root)  # type: ignore[attr-defined]
    query_error = Exception("[TASK_WRITE_FAILED] Task failed while writing rows to s3://my-bucket/author_stats.")
    query_error._cause = cause  # type: ignore[attr-defined]
    assert not is_transient(str(query_error))
    text = failure_text(query_error)
    assert is_transient(text) and "AWSStatus500Exception" in text


def test_a_cause_known_only_by_its_stack_trace_decides_too() -> None:
    """pyspark keeps some causes as text only (no JVM object): their "Caused by:" lines count."""
    from jobs.jvm_errors import failure_text

    cause = Exception("org.apache.spark.SparkException: [TASK_WRITE_FAILED] Task failed while writing rows")
    cause._stackTrace = (  # type: ignore[attr-defined]
        "org.apache.spark.SparkException: [TASK_WRITE_FAILED] Task failed while writing rows\n"
        "\tat org.apache.spark.sql.errors.QueryExecutionErrors$.taskFailedWhileWritingRowsError\n"
        "Caused by: org.apache.hadoop.fs.s3a.AWSStatus500Exception: Writing Object on t/part-00001.parquet\n"
        "\tat org.apache.hadoop.fs.s3a.S3AUtils.translateException(S3AUtils.java:260)\n"
    )
    query_error = Exception("[TASK_WRITE_FAILED] Task failed while writing rows to s3://my-bucket/author_stats.")
    query_error._cause = cause  # type: ignore[attr-defined]
    text = failure_text(query_error)
    assert is_transient(text) and "AWSStatus500Exception: Writing Object" in text
    assert "S3AUtils.translateException" not in text, "stack frames are not causes"
