"""Settings fail fast with a message naming the setting."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.env import Duration, SettingError, parse_duration
from jobs.kinesis.options import SourceOptions
from jobs.kinesis.starting_position import StartingPosition
from jobs.settings import JobSettings, Trigger
from ops.settings import read_all
from publisher.settings import PublisherSettings

pytestmark = pytest.mark.unit


def test_defaults_match_the_seed() -> None:
    job = JobSettings.from_env({})
    assert (job.stream_name, job.bucket_name, job.aws.region, job.starting_position) == (
        "articles",
        "my-bucket",
        "us-east-1",
        StartingPosition("TRIM_HORIZON"),
    )
    assert job.aws.endpoint_url is None and job.watermark_delay == Duration(120_000)
    assert job.trigger == Trigger(Duration(5_000)) and job.retry_deadline == Duration(300_000)
    publisher = PublisherSettings.from_env({})
    assert publisher.rate == 5.0 and publisher.count == 0 and publisher.bind == "127.0.0.1:8000"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PUBLISH_RATE": "0"}, "PUBLISH_RATE"),
        ({"PUBLISH_RATE": "-3"}, "PUBLISH_RATE"),
        ({"PUBLISH_RATE": "fast"}, "PUBLISH_RATE"),
        ({"PUBLISH_COUNT": "-1"}, "PUBLISH_COUNT"),
        ({"AWS_REGION": "moon-base-1x"}, "AWS_REGION"),
        ({"AWS_REGION": "us-east-9"}, "AWS_REGION"),
        ({"AWS_ENDPOINT_URL": "localhost:4566"}, "AWS_ENDPOINT_URL"),
        ({"S3_BUCKET_NAME": "Bad_Bucket"}, "S3_BUCKET_NAME"),
        ({"KINESIS_STREAM_NAME": "has space"}, "KINESIS_STREAM_NAME"),
        ({"KINESIS_SHARD_COUNT": "two"}, "KINESIS_SHARD_COUNT"),
        ({"PUBLISHER_SEED": "abc"}, "PUBLISHER_SEED"),
    ],
)
def test_bad_publisher_settings_name_the_setting(env: dict, named: str) -> None:
    with pytest.raises(SettingError, match=named):
        PublisherSettings.from_env(env)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WATERMARK_DELAY": "two minutes"}, "WATERMARK_DELAY"),
        ({"TRIGGER_INTERVAL": "often"}, "TRIGGER_INTERVAL"),
        ({"AUTHOR_STATS_TRIGGER_INTERVAL": "hourly"}, "AUTHOR_STATS_TRIGGER_INTERVAL"),
        ({"AUTHOR_STATS_TRIGGER_INTERVAL": "available-now"}, "AUTHOR_STATS_TRIGGER_INTERVAL"),
        (
            {"TRIGGER_INTERVAL": "available-now", "AUTHOR_STATS_TRIGGER_INTERVAL": "1 minute"},
            "AUTHOR_STATS_TRIGGER_INTERVAL",
        ),
        ({"STARTING_POSITION": "YESTERDAY"}, "STARTING_POSITION"),
        ({"STARTING_POSITION": "AT_TIMESTAMP:not-a-time"}, "STARTING_POSITION"),
        ({"MAX_RECORDS_PER_SHARD": "0"}, "MAX_RECORDS_PER_SHARD"),
        ({"MAX_BYTES_PER_TRIGGER": "0"}, "MAX_BYTES_PER_TRIGGER must be at least 1 byte"),
        ({"MAX_BYTES_PER_TRIGGER": "lots"}, "MAX_BYTES_PER_TRIGGER must be a size in bytes"),
        ({"MAX_BYTES_PER_TRIGGER": "2 tb"}, "MAX_BYTES_PER_TRIGGER must be a size in bytes"),
        ({"CHECKPOINT_LOCATION": "hdfs://namenode/checkpoints"}, "CHECKPOINT_LOCATION"),
        ({"JOB_METRICS_BIND": "9404"}, "JOB_METRICS_BIND"),
        ({"CHECKPOINT_LOCATION": "s3://bucket-only"}, "CHECKPOINT_LOCATION"),
        ({"CHECKPOINT_LOCATION": "s3:///no-bucket"}, "CHECKPOINT_LOCATION"),
    ],
)
def test_bad_job_settings_name_the_setting(env: dict, named: str) -> None:
    with pytest.raises(SettingError, match=named):
        JobSettings.from_env(env)


@pytest.mark.parametrize(
    ("location", "articles_checkpoint", "position_log"),
    [
        ("s3a://bucket/ckpt/", "s3://bucket/ckpt/articles", "s3://bucket/ckpt/articles/kinesis-positions"),
        ("s3://bucket/a/b", "s3://bucket/a/b/articles", "s3://bucket/a/b/articles/kinesis-positions"),
        ("file:///var/ckpt", "/var/ckpt/articles", "/var/ckpt/articles/kinesis-positions"),
    ],
)
def test_checkpoints_and_position_logs_live_on_s3_or_locally(
    location: str, articles_checkpoint: str, position_log: str
) -> None:
    settings = JobSettings.from_env({"CHECKPOINT_LOCATION": location})
    assert settings.query_checkpoint("articles") == articles_checkpoint
    assert settings.source_options("articles")["positionLog"] == position_log


@pytest.mark.parametrize(
    ("text", "milliseconds"),
    [
        ("2 minutes", 120_000),
        ("500ms", 500),
        ("500 milliseconds", 500),
        ("1 minute 30 seconds", 90_000),
        ("interval 5 seconds", 5_000),
        ("1.5 s", 1_500),
        ("2 MIN", 120_000),
        ("1 hour", 3_600_000),
        ("0 seconds", 0),
    ],
)
def test_durations_accept_sparks_forms(text: str, milliseconds: int) -> None:
    assert parse_duration("X", text) == Duration(milliseconds)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("30", "bare number is ambiguous"),
        ("5m", "ambiguous"),
        ("1 month", "no fixed length"),
        ("0.5 ms", "whole number of milliseconds"),
        ("-5 seconds", "duration like"),
        ("soon", "duration like"),
        ("5 fortnights", "unknown unit"),
        ("400 days", "at most 365 days"),
    ],
)
def test_ambiguous_or_odd_durations_are_refused(text: str, why: str) -> None:
    with pytest.raises(SettingError, match=f"^X .*{why}"):
        parse_duration("X", text)


def test_triggers_and_starting_positions_are_typed() -> None:
    drain = JobSettings.from_env({"TRIGGER_INTERVAL": "available-now"})
    assert drain.trigger.available_now and drain.author_stats_trigger.available_now
    assert JobSettings.from_env({"TRIGGER_INTERVAL": "2 seconds"}).author_stats_trigger == Trigger(Duration(2_000))
    own = JobSettings.from_env({"AUTHOR_STATS_TRIGGER_INTERVAL": "30 seconds"})
    assert own.author_stats_trigger.interval == Duration(30_000) and own.trigger.interval == Duration(5_000)
    assert JobSettings.from_env({"STARTING_POSITION": "latest"}).starting_position == StartingPosition("LATEST")
    at = JobSettings.from_env({"STARTING_POSITION": "AT_TIMESTAMP:2026-11-26T08:00:00Z"}).starting_position
    assert at.resolve().initial == {"type": "AT_TIMESTAMP", "ts": 1795680000.0}
    # What reaches Spark's option is parsed back to the same value.
    seq = StartingPosition.parse("S", '{"shardId-1": {"type": "AFTER_SEQUENCE_NUMBER", "seq": "42"}}')
    assert StartingPosition.parse("S", seq.option) == seq
    assert seq.resolve().per_shard == {"shardId-1": {"type": "AFTER_SEQUENCE_NUMBER", "seq": "42"}}


def test_bad_settings_exit_non_zero_with_the_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs.process_articles import main

    monkeypatch.setenv("WATERMARK_DELAY", "soon")
    assert main() == 2
    assert "WATERMARK_DELAY" in capsys.readouterr().err


@pytest.mark.parametrize("settings_class", ["jobs.settings.JobSettings", "publisher.settings.PublisherSettings"])
def test_a_bad_log_level_fails_before_anything_starts(settings_class: str) -> None:
    import importlib

    module, name = settings_class.rsplit(".", 1)
    reader = getattr(importlib.import_module(module), name)
    with pytest.raises(SettingError, match=r"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, got 'verbose'"):
        reader.from_env({"LOG_LEVEL": "verbose"})
    assert reader.from_env({"LOG_LEVEL": "warning"}).log_level == "WARNING"


def test_the_event_time_lead_follows_the_watermark_delay_unless_set() -> None:
    assert JobSettings.from_env({}).max_event_time_lead == Duration(120_000)
    assert JobSettings.from_env({"WATERMARK_DELAY": "10 minutes"}).max_event_time_lead == Duration(600_000)
    assert JobSettings.from_env({"MAX_EVENT_TIME_LEAD": "30 seconds"}).max_event_time_lead == Duration(30_000)
    with pytest.raises(SettingError, match="MAX_EVENT_TIME_LEAD"):
        JobSettings.from_env({"MAX_EVENT_TIME_LEAD": "2 days"})


def test_a_sub_second_watermark_is_kept_not_truncated() -> None:
    assert JobSettings.from_env({"WATERMARK_DELAY": "500ms"}).watermark_delay.spark == "500 milliseconds"
    assert JobSettings.from_env({"WATERMARK_DELAY": "2 minutes"}).watermark_delay.spark == "120000 milliseconds"


# Every setting any process reads, found by reading an empty environment (nothing hand-listed).
EVERY_SETTING = read_all({}).names


def test_every_setting_of_every_process_is_known() -> None:
    for name in ("PUBLISHER_BIND", "LOG_LEVEL", "TRIGGER_INTERVAL", "STARTING_POSITION", "RETRY_DEADLINE", "CLUSTER"):
        assert name in EVERY_SETTING
    assert len(EVERY_SETTING) >= 25


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(EVERY_SETTING), value=st.text(max_size=40))
def test_any_string_in_any_setting_parses_or_names_the_setting(name: str, value: str) -> None:
    try:
        read_all({name: value})
    except SettingError as error:
        assert name in str(error), f"{error} does not name {name}"


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from([n for n in EVERY_SETTING if n.endswith(("DELAY", "WINDOW", "INTERVAL", "DEADLINE"))]),
    amount=st.integers(min_value=0, max_value=100_000),  # up to 69 days in minutes: under the 365-day cap
    unit=st.sampled_from(["ms", "milliseconds", "s", "seconds", "min", "minutes"]),
)
def test_durations_in_sparks_forms_parse_to_the_millisecond(name: str, amount: int, unit: str) -> None:
    scale = {"ms": 1, "milliseconds": 1, "s": 1000, "seconds": 1000, "min": 60_000, "minutes": 60_000}[unit]
    try:
        parsed = read_all({name: f"{amount} {unit}"})
    except SettingError as error:  # below a setting's minimum, e.g. RETRY_DEADLINE of 0 seconds
        assert name in str(error) and "at least" in str(error)
        return
    value = {
        "WATERMARK_DELAY": parsed.job.watermark_delay,
        "DEDUP_WINDOW": parsed.job.dedup_window,
        "RETRY_DEADLINE": parsed.job.retry_deadline,
        "TRIGGER_INTERVAL": parsed.job.trigger.interval,
        "AUTHOR_STATS_TRIGGER_INTERVAL": parsed.job.author_stats_trigger.interval,
    }[name]
    assert value == Duration(amount * scale)


@pytest.mark.parametrize(
    "environ",
    [
        {"AWS_ENDPOINT_URL_S3": "http://minio:9000"},  # S3-compatible store, Kinesis on AWS
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_S3": "http://minio:9000"},
    ],
    ids=["s3-only", "both"],
)
def test_the_position_log_on_s3_goes_to_the_s3_endpoint_on_the_executors(environ: dict[str, str]) -> None:
    """The source's options carry the S3 endpoint: the position log (s3:// checkpoints) is written where
    the checkpoints are, not to Kinesis' endpoint or to AWS."""
    settings = JobSettings.from_env({"CHECKPOINT_LOCATION": "s3://bucket/checkpoints", **environ})
    source = SourceOptions.from_options(settings.source_options("articles"))
    assert source.aws.endpoint_for("s3") == "http://minio:9000"
    assert source.aws.endpoint_for("kinesis") == environ.get("AWS_ENDPOINT_URL")


@pytest.mark.parametrize(
    ("text", "size"),
    [("1048576", 1 << 20), ("512k", 512 << 10), ("64m", 64 << 20), ("64 MiB", 64 << 20), ("1G", 1 << 30)],
)
def test_a_byte_limit_takes_sparks_byte_strings_and_reaches_the_source(text: str, size: int) -> None:
    settings = JobSettings.from_env({"MAX_BYTES_PER_TRIGGER": text})
    assert settings.max_bytes_per_trigger == size
    options = settings.source_options("articles")
    assert options["maxBytesPerTrigger"] == str(size)
    assert SourceOptions.from_options(options).max_bytes_per_trigger == size


def test_without_a_byte_limit_the_source_has_none() -> None:
    options = JobSettings.from_env({}).source_options("articles")
    assert "maxBytesPerTrigger" not in options and SourceOptions.from_options(options).max_bytes_per_trigger is None
    with pytest.raises(SettingError, match="kinesis source option 'maxBytesPerTrigger' must be a size in bytes"):
        SourceOptions.from_options({**options, "maxBytesPerTrigger": "-1"})
