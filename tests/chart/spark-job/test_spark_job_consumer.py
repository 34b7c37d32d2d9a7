"""spark-job/templates/consumer/: enhanced fan-out through the stream consumer `job.consumerName`
(`KINESIS_CONSUMER_NAME` on the driver) and the `pre-delete` hook that deregisters it at
`helm uninstall`; nothing of it while the value is empty (polling)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from chart_helpers import (
    AWS_VALUES,
    CHART,
    CI_VALUES,
    KIND_VALUES,
    KUBERNETES_VERSION,
    SPARK_APP,
    Helm,
    Manifest,
    Render,
    by_kind,
    env_map,
    spark_container,
    spark_template,
    sparkapp,
    values_of,
)

pytestmark = pytest.mark.chart

CONSUMER = "article-pipeline-efo"
SET = (f"spark-job.job.consumerName={CONSUMER}",)
HOOK = f"{SPARK_APP}-consumer-deregister"
ROLE_ARN = "arn:aws:iam::111122223333:role/streams/article-reader"


def hooks(objs: list[Manifest]) -> list[Manifest]:
    """The rendered `pre-delete` hooks."""
    return [o for o in objs if o["metadata"].get("annotations", {}).get("helm.sh/hook") == "pre-delete"]


def hook(objs: list[Manifest]) -> Manifest:
    found = hooks(objs)
    assert [o["metadata"]["name"] for o in found] == [HOOK]
    return found[0]


def hook_container(objs: list[Manifest]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = hook(objs)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def wait_for_aws_env(objs: list[Manifest]) -> dict[str, Any]:
    """The AWS environment of the driver's `wait-for-aws` init container (aws-env, no shard count)."""
    init = spark_template(sparkapp(objs), "driver")["initContainers"]
    env = env_map(next(c for c in init if c["name"] == "wait-for-aws")["env"])
    env.pop("WAIT_TIMEOUT_SECONDS")
    return env


@pytest.mark.parametrize("values_file", [p for p in CI_VALUES if p != AWS_VALUES], ids=lambda p: p.name)
def test_polling_by_default_no_hook_no_consumer(render: Render, values_file: Path) -> None:
    """`job.consumerName` empty (the default): no hook, no `KINESIS_CONSUMER_NAME`, no policy for it."""
    objs = render(values_file)
    assert hooks(objs) == [] and by_kind(objs, "Job") == []
    for role in ("driver", "executor"):
        assert "KINESIS_CONSUMER_NAME" not in env_map(spark_container(sparkapp(objs), role)["env"])
    assert "consumer-deregister" not in str(by_kind(objs, "NetworkPolicy"))


def test_the_aws_values_read_through_a_consumer(aws_manifests: list[Manifest]) -> None:
    """ci/aws-values.yaml uses enhanced fan-out, so every release-wide test (lint, Pod Security,
    schemas, network policies) sees the hook too."""
    name = values_of(AWS_VALUES)["spark-job"]["job"]["consumerName"]
    assert env_map(spark_container(sparkapp(aws_manifests), "driver")["env"])["KINESIS_CONSUMER_NAME"] == name
    assert env_map(hook_container(aws_manifests)["env"])["KINESIS_CONSUMER_NAME"] == name


def test_the_driver_reads_through_the_consumer(render: Render) -> None:
    """The driver gets `KINESIS_CONSUMER_NAME`; the executors read through the consumer the driver's
    source options name, not their environment."""
    app = sparkapp(render(KIND_VALUES, sets=SET))
    assert env_map(spark_container(app, "driver")["env"])["KINESIS_CONSUMER_NAME"] == CONSUMER
    assert "KINESIS_CONSUMER_NAME" not in env_map(spark_container(app, "executor")["env"])


def test_the_hook_deregisters_the_consumer(render: Render) -> None:
    objs = render(KIND_VALUES, sets=SET)
    job = hook(objs)
    assert job["kind"] == "Job" and job["apiVersion"] == "batch/v1"
    policy = job["metadata"]["annotations"]["helm.sh/hook-delete-policy"].split(",")
    assert sorted(policy) == ["before-hook-creation", "hook-succeeded"]
    spec = job["spec"]
    assert 0 <= spec["backoffLimit"] <= 3
    assert 0 < spec["activeDeadlineSeconds"] < 300, "below helm uninstall's default --timeout (5m)"
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == sparkapp(objs)["spec"]["executor"]["serviceAccount"]
    c = hook_container(objs)
    assert c["command"] == ["python3", "-m", "jobs.kinesis.consumer", "deregister"]
    assert c["image"] == sparkapp(objs)["spec"]["image"]
    assert c["securityContext"] == spark_container(sparkapp(objs), "driver")["securityContext"]
    assert pod["securityContext"] == spark_template(sparkapp(objs), "driver")["securityContext"]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "consumer-deregister"
    kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    "sets",
    [
        (),
        ("localstack.enabled=false",),
        (
            "localstack.enabled=false",
            f"global.aws.kinesisRoleArn={ROLE_ARN}",
            "global.aws.kinesisRoleExternalId=x-7f3a",
        ),
        ("localstack.enabled=false", "global.aws.endpointUrl=http://emulator:4566", "global.aws.region=eu-west-1"),
        ("global.kinesis.streamName=news", "spark-job.job.retryDeadline=10 minutes", "global.logLevel=DEBUG"),
    ],
    ids=["localstack", "aws", "role", "own-endpoint", "settings"],
)
def test_the_hook_has_the_aws_environment_of_the_releases_aws_clients(render: Render, sets: tuple[str, ...]) -> None:
    """The same AWS environment (aws-env) as the driver's init containers, then the consumer, the
    hook's own retry deadline and the log level: what `python -m jobs.kinesis.consumer deregister`
    reads through JobSettings.from_env, which accepts it."""
    from jobs.settings import JobSettings

    objs = render(sets=(*SET, *sets))
    env = env_map(hook_container(objs)["env"])
    aws = wait_for_aws_env(objs)
    assert env == {
        **aws,
        "KINESIS_CONSUMER_NAME": CONSUMER,
        "RETRY_DEADLINE": "1 minute",
        "LOG_LEVEL": env_map(spark_container(sparkapp(objs), "driver")["env"])["LOG_LEVEL"],
    }
    settings = JobSettings.from_env(env)
    assert settings.consumer_name == CONSUMER
    assert settings.stream_name == aws["KINESIS_STREAM_NAME"]
    assert settings.retry_deadline.seconds == 60


def test_the_hook_settings_are_the_values(render: Render) -> None:
    objs = render(
        sets=(
            *SET,
            "spark-job.consumerDeregister.backoffLimit=0",
            "spark-job.consumerDeregister.activeDeadlineSeconds=120",
            "spark-job.consumerDeregister.retryDeadline=30 seconds",
            "spark-job.imagePullSecrets={regcred}",
            "spark-job.nodeSelector.pool=spark",
        )
    )
    spec = hook(objs)["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (0, 120)
    assert env_map(hook_container(objs)["env"])["RETRY_DEADLINE"] == "30 seconds"
    pod = spec["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["nodeSelector"] == {"pool": "spark"}


def test_the_hook_may_reach_kinesis(render: Render) -> None:
    """Its pod carries the labels the release's NetworkPolicies name: one policy lets it out to
    Kinesis (LocalStack's edge port here), LocalStack's lets it in."""
    objs = render(KIND_VALUES, sets=SET)
    labels = hook(objs)["spec"]["template"]["metadata"]["labels"]
    policies = {p["metadata"]["name"]: p for p in by_kind(objs, "NetworkPolicy")}
    own = policies["article-pipeline-spark-consumer-deregister"]["spec"]
    assert own["podSelector"]["matchLabels"].items() <= labels.items()
    assert own["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in own
    assert [p["port"] for rule in own["egress"] for p in rule["ports"]] == [4566]
    clients = policies["article-pipeline-localstack"]["spec"]["ingress"][0]["from"]
    assert any(peer["podSelector"]["matchLabels"].items() <= labels.items() for peer in clients)


@pytest.mark.parametrize(
    "name",
    ["has space", "a/b", "x" * 129, "ümlaut"],
    ids=["space", "slash", "too-long", "non-ascii"],
)
def test_the_schema_refuses_a_bad_consumer_name(run_helm: Helm, name: str) -> None:
    result = run_helm("template", "x", str(CHART), "--set-string", f"spark-job.job.consumerName={name}")
    assert result.returncode != 0
    assert "values don't meet" in result.stderr and "consumerName" in result.stderr, result.stderr


def test_the_longest_consumer_name_renders(render: Render) -> None:
    name = "a.b_c-" + "x" * 122
    env = env_map(hook_container(render(sets=(f"spark-job.job.consumerName={name}",)))["env"])
    assert env["KINESIS_CONSUMER_NAME"] == name


def test_extra_env_cannot_set_the_consumer(run_helm: Helm) -> None:
    """Through `extraEnv` the hook would not know the consumer: the chart refuses it, naming the value."""
    result = run_helm(
        "template", "x", str(CHART),
        "--set", "spark-job.extraEnv[0].name=KINESIS_CONSUMER_NAME",
        "--set", "spark-job.extraEnv[0].value=mine",
    )  # fmt: skip
    assert result.returncode != 0
    assert "extraEnv KINESIS_CONSUMER_NAME is refused: set job.consumerName" in result.stderr
