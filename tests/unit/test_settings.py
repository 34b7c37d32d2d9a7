"""Settings fail fast with a message naming the setting."""

import pytest

from common.settings import SettingError, parse_duration_seconds
from jobs.settings import AVAILABLE_NOW, JobSettings
from publisher.settings import PublisherSettings

pytestmark = pytest.mark.unit


def test_defaults_match_the_seed() -> None:
    job = JobSettings.from_env({})
    assert (job.stream_name, job.bucket_name, job.aws.region, job.starting_position) == (
        "articles",
        "my-bucket",
        "us-east-1",
        "TRIM_HORIZON",
    )
    assert job.aws.endpoint_url is None and job.watermark_delay_seconds == 120
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
        ({"CHECKPOINT_LOCATION": "s3://bucket/checkpoints"}, "CHECKPOINT_LOCATION"),
    ],
)
def test_bad_job_settings_name_the_setting(env: dict, named: str) -> None:
    with pytest.raises(SettingError, match=named):
        JobSettings.from_env(env)


def test_durations_and_trigger_modes() -> None:
    assert parse_duration_seconds("X", "2 minutes") == 120
    assert parse_duration_seconds("X", "500ms") == 0.5
    assert JobSettings.from_env({"TRIGGER_INTERVAL": "available-now"}).trigger_interval == AVAILABLE_NOW
    assert JobSettings.from_env({"TRIGGER_INTERVAL": "available-now"}).author_stats_trigger_interval == AVAILABLE_NOW
    assert JobSettings.from_env({"TRIGGER_INTERVAL": "2 seconds"}).author_stats_trigger_interval == "2 seconds"
    assert (
        JobSettings.from_env({"AUTHOR_STATS_TRIGGER_INTERVAL": "30 seconds"}).author_stats_trigger_interval
        == "30 seconds"
    )
    assert JobSettings.from_env({"STARTING_POSITION": "latest"}).starting_position == "latest"


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


def test_a_sub_second_watermark_is_kept_not_truncated() -> None:
    assert JobSettings.from_env({"WATERMARK_DELAY": "500ms"}).watermark_delay == "500 milliseconds"
    assert JobSettings.from_env({"WATERMARK_DELAY": "2 minutes"}).watermark_delay == "120000 milliseconds"
