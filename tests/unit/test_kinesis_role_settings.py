"""KINESIS_ROLE_ARN, KINESIS_ROLE_EXTERNAL_ID, KINESIS_ROLE_SESSION_NAME: read once by the publisher
and the job, checked at start, and carried to the job's executors in the source's options."""

from __future__ import annotations

import pytest

from common.env import SettingError
from jobs.kinesis.options import SourceOptions
from jobs.settings import JobSettings
from ops.settings import read_all
from publisher.settings import PublisherSettings

pytestmark = pytest.mark.unit

ARN = "arn:aws:iam::111122223333:role/stream-reader"


@pytest.mark.parametrize(
    "arn",
    [
        ARN,
        "arn:aws:iam::111122223333:role/streams/team-a/stream-reader",
        "arn:aws-cn:iam::111122223333:role/reader",
        "arn:aws-us-gov:iam::111122223333:role/reader",
        "arn:aws:iam::111122223333:role/a+b=c,d.e@f_g-h",
        "arn:aws:iam::111122223333:role/" + "r" * 64,
    ],
)
def test_a_role_arn_is_read_by_the_publisher_and_the_job_with_their_own_session_names(arn: str) -> None:
    env = {"KINESIS_ROLE_ARN": arn}
    publisher, job = PublisherSettings.from_env(env).aws, JobSettings.from_env(env).aws
    assert publisher.kinesis_role is not None and job.kinesis_role is not None
    assert publisher.kinesis_role.arn == job.kinesis_role.arn == arn
    assert publisher.kinesis_role.session_name == "article-pipeline-publisher"
    assert job.kinesis_role.session_name == "article-pipeline-job"
    assert publisher.kinesis_role.external_id is None and publisher.kinesis_role.duration_seconds == 3600


def test_no_role_by_default() -> None:
    assert PublisherSettings.from_env({}).aws.kinesis_role is None
    assert JobSettings.from_env({}).aws.kinesis_role is None
    assert "roleArn" not in JobSettings.from_env({}).source_options("articles")


def test_external_id_and_session_name_are_taken_as_given() -> None:
    env = {
        "KINESIS_ROLE_ARN": ARN,
        "KINESIS_ROLE_EXTERNAL_ID": "urn:pipeline/7f3a:b+c=d,e.f@g-h_i",
        "KINESIS_ROLE_SESSION_NAME": "ci@build,1=2+3.x-y_z",
    }
    role = JobSettings.from_env(env).aws.kinesis_role
    assert role is not None
    assert (role.external_id, role.session_name) == ("urn:pipeline/7f3a:b+c=d,e.f@g-h_i", "ci@build,1=2+3.x-y_z")


@pytest.mark.parametrize(
    "arn",
    [
        "stream-reader",
        "arn:aws:iam::111122223333:user/stream-reader",
        "arn:aws:sts::111122223333:assumed-role/stream-reader/session",
        "arn:aws:iam::11112222333:role/stream-reader",
        "arn:aws:iam::1111222233334:role/stream-reader",
        "arn:aws:iam:us-east-1:111122223333:role/stream-reader",
        "arn:azure:iam::111122223333:role/stream-reader",
        "arn:aws:iam::111122223333:role/",
        "arn:aws:iam::111122223333:role/streams/",
        "arn:aws:iam::111122223333:role/has space",
        "arn:aws:iam::111122223333:role/" + "r" * 65,
        "arn:aws:kinesis:us-east-1:111122223333:stream/articles",
    ],
)
def test_a_bad_role_arn_fails_naming_the_setting(arn: str) -> None:
    for settings in (PublisherSettings, JobSettings):
        with pytest.raises(SettingError, match=r"^KINESIS_ROLE_ARN must be an IAM role ARN like arn:aws:iam::"):
            settings.from_env({"KINESIS_ROLE_ARN": arn})


@pytest.mark.parametrize("name", ["KINESIS_ROLE_EXTERNAL_ID", "KINESIS_ROLE_SESSION_NAME"])
def test_external_id_or_session_name_without_the_arn_fails_naming_both(name: str) -> None:
    for settings in (PublisherSettings, JobSettings):
        with pytest.raises(SettingError, match=rf"^{name} is set but KINESIS_ROLE_ARN is not.*set KINESIS_ROLE_ARN"):
            settings.from_env({name: "pipeline-7f3a"})


@pytest.mark.parametrize("session_name", ["a", "s" * 65, "has space", "slash/es", "ünïcode", "colon:s"])
def test_a_bad_session_name_fails_naming_the_setting(session_name: str) -> None:
    with pytest.raises(SettingError, match=r"^KINESIS_ROLE_SESSION_NAME must be 2-64 characters"):
        JobSettings.from_env({"KINESIS_ROLE_ARN": ARN, "KINESIS_ROLE_SESSION_NAME": session_name})


@pytest.mark.parametrize("external_id", ["x", "has space", "e" * 1225, "quote'd"])
def test_a_bad_external_id_fails_naming_the_setting(external_id: str) -> None:
    with pytest.raises(SettingError, match=r"^KINESIS_ROLE_EXTERNAL_ID must be 2-1224 characters"):
        PublisherSettings.from_env({"KINESIS_ROLE_ARN": ARN, "KINESIS_ROLE_EXTERNAL_ID": external_id})


def test_make_run_checks_the_role_settings_before_it_starts() -> None:
    with pytest.raises(SettingError, match="KINESIS_ROLE_ARN"):
        read_all({"KINESIS_ROLE_ARN": "arn:aws:iam::111122223333:user/x"})
    names = read_all({}).names
    for name in ("KINESIS_ROLE_ARN", "KINESIS_ROLE_EXTERNAL_ID", "KINESIS_ROLE_SESSION_NAME", "AWS_ENDPOINT_URL_STS"):
        assert name in names


def test_sts_endpoint_defaults_to_the_common_one() -> None:
    aws = JobSettings.from_env({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}).aws
    assert aws.endpoint_for("sts") == aws.endpoint_for("kinesis") == "http://127.0.0.1:4566"
    aws = JobSettings.from_env(
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_STS": "http://sts:1"}
    ).aws
    assert aws.endpoint_for("sts") == "http://sts:1" and aws.endpoint_for("kinesis") == "http://127.0.0.1:4566"
    with pytest.raises(SettingError, match="AWS_ENDPOINT_URL_STS"):
        JobSettings.from_env({"AWS_ENDPOINT_URL_STS": "sts:1"})


def test_the_role_reaches_the_executors_in_the_source_options() -> None:
    """Executors build their clients from the options alone: the same role, session and STS endpoint."""
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:4567",
        "KINESIS_ROLE_ARN": ARN,
        "KINESIS_ROLE_EXTERNAL_ID": "pipeline-7f3a",
    }
    job = JobSettings.from_env(env)
    source = SourceOptions.from_options(job.source_options("articles"))
    assert source.aws.kinesis_role == job.aws.kinesis_role
    assert source.aws.endpoint_for("sts") == "http://127.0.0.1:4567"
    without_id = JobSettings.from_env({**env, "KINESIS_ROLE_EXTERNAL_ID": "", "KINESIS_ROLE_SESSION_NAME": "mine"})
    assert SourceOptions.from_options(without_id.source_options("articles")).aws.kinesis_role == (
        without_id.aws.kinesis_role
    )


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"roleArn": "arn:aws:iam::1:role/x"}, "kinesis source option 'roleArn'"),
        ({"roleExternalId": "pipeline-7f3a"}, "kinesis source option 'roleExternalId' is set but"),
        ({"roleArn": ARN, "roleSessionName": "x"}, "kinesis source option 'roleSessionName'"),
    ],
)
def test_bad_role_options_name_the_option(options: dict[str, str], named: str) -> None:
    with pytest.raises(SettingError, match=named):
        SourceOptions.from_options({"streamName": "s", "positionLog": "/tmp/p", **options})
