"""templates/NOTES.txt: every command it prints names an object the release has."""

from __future__ import annotations

import re

import pytest
from chart_helpers import (
    AWS_VALUES,
    CHART,
    KIND_VALUES,
    NAMESPACE,
    PUBLISHER,
    RELEASE,
    SPARK_APP,
    Helm,
    Manifest,
    Render,
)

pytestmark = pytest.mark.chart


def notes(run_helm: Helm, *args: str) -> str:
    result = run_helm(
        "install", RELEASE, str(CHART), "--dry-run=client", "--namespace", NAMESPACE, *args,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.split("NOTES:", 1)[1]


def test_notes_commands_match_the_objects(run_helm: Helm, kind_manifests: list[Manifest]) -> None:
    text = notes(run_helm, "-f", str(KIND_VALUES))
    assert f"helm -n {NAMESPACE} uninstall {RELEASE} --wait" in text
    assert f"port-forward svc/{PUBLISHER} 18001:8000" in text and "http://127.0.0.1:18001/health" in text
    assert f"helm -n {NAMESPACE} test {RELEASE}" in text
    assert f"logs -f {SPARK_APP}-driver" in text  # the operator names the driver pod <app>-driver
    names = {o["metadata"]["name"] for o in kind_manifests}
    for ref in re.findall(r"(?:svc|deploy|sparkapplication)[/ ]([a-z0-9-]+)", text):
        assert ref in names, f"NOTES mention {ref}, which the chart does not create"
    assert "delete pvc" not in text  # uninstall already deletes it on kind


def test_notes_on_aws_explain_the_kept_checkpoint(run_helm: Helm) -> None:
    text = notes(run_helm, "-f", str(AWS_VALUES))
    assert f"delete pvc {SPARK_APP}-checkpoints" in text
    assert "LocalStack" not in text.split("Output lands in:")[0].replace("LocalStack is Ready", "")


def test_notes_with_checkpoints_on_s3(run_helm: Helm) -> None:
    """No claim to wait for or delete: on LocalStack the checkpoint goes with its data; on AWS it stays
    in the bucket, and NOTES print the command that deletes it (an s3a:// location as s3://)."""
    local = notes(run_helm, "--set", "spark-job.checkpoint.location=s3://my-bucket/checkpoints")
    assert "(s3://my-bucket/checkpoints/) is in LocalStack's S3" in local
    assert "pvc" not in local.lower().split("reset:", 1)[1]
    aws = notes(
        run_helm, "-f", str(AWS_VALUES), "--set", "spark-job.checkpoint.location=s3a://my-bucket/pipeline/ckpt/"
    )
    reset = aws.split("Reset:", 1)[1]
    assert "aws s3 rm --recursive s3://my-bucket/pipeline/ckpt/\n" in reset
    assert "pvc" not in reset.lower() and "LocalStack" not in reset


def test_notes_follow_the_subcharts_names_and_switches(run_helm: Helm, render: Render) -> None:
    """Names come from the subcharts' own helpers: overrides, ports and switches show in NOTES."""
    sets = (
        "spark-job.fullnameOverride=short",
        "publisher.fullnameOverride=pub",
        "publisher.service.port=8080",
        "publisher.apiToken.enabled=true",
        "publisher.apiToken.value=a-token-of-32-characters-for-test",
        "publisher.helmTest.enabled=false",
    )
    text = notes(run_helm, *(arg for s in sets for arg in ("--set", s)))
    names = {o["metadata"]["name"] for o in render(sets=sets)}
    for ref in re.findall(r"(?:svc|deploy|sparkapplication|secret)[/ ]([a-z0-9-]+)", text):
        assert ref in names, f"NOTES mention {ref}, which the chart does not create"
    assert "port-forward svc/pub 18001:8080" in text and "logs -f short-driver" in text
    assert f"helm -n {NAMESPACE} test" not in text  # no test pod to run
    own = notes(run_helm, "--set", "spark-job.checkpoint.existingClaim=mine")
    assert "delete pvc" not in own and "checkpoint PVC mine" in own


def test_notes_reach_the_spark_ui_through_the_driver_pod(run_helm: Helm) -> None:
    """No UI Service by default: the documented way in is a port-forward to the driver pod."""
    text = notes(run_helm, "-f", str(KIND_VALUES))
    assert f"port-forward pod/{SPARK_APP}-driver 4040:4040" in text
    assert f"svc/{SPARK_APP}-ui" not in text
    on = notes(run_helm, "-f", str(KIND_VALUES), "--set", "spark-job.uiService.enabled=true")
    assert f"svc/{SPARK_APP}-ui" in on


def test_notes_without_localstack(run_helm: Helm) -> None:
    text = notes(run_helm, "--set", "localstack.enabled=false")
    assert "localstack" not in text.lower().replace("localstack is ready", "")


def test_notes_tell_where_the_token_is(run_helm: Helm) -> None:
    own = notes(
        run_helm, "--set", "publisher.apiToken.enabled=true", "--set", "publisher.apiToken.existingSecret=my-token"
    )
    assert "secret my-token" in own


def test_notes_name_the_consumer_and_its_hook(run_helm: Helm, render: Render) -> None:
    """With spark-job.job.consumerName NOTES say the job reads through that consumer and name the
    `pre-delete` hook that deregisters it; without it, neither."""
    sets = ("spark-job.job.consumerName=article-pipeline-efo",)
    text = notes(run_helm, "-f", str(KIND_VALUES), "--set", sets[0])
    assert "stream consumer article-pipeline-efo (enhanced fan-out" in text
    job = f"{SPARK_APP}-consumer-deregister"
    assert "pre-delete hook" in text and f"Job {job};" in text
    assert job in {o["metadata"]["name"] for o in render(KIND_VALUES, sets=sets)}
    assert "consumer" not in notes(run_helm, "-f", str(KIND_VALUES))
