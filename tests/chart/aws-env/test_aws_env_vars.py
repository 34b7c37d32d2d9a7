"""aws-env/templates/_env.tpl (`aws-env.vars`): the AWS environment of every container that talks
to Kinesis or S3: endpoint and dummy keys with LocalStack only, the endpoint following its Service;
`localstack.enabled=false` alone means real AWS."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from chart_helpers import (
    AWS_FILES,
    CHART,
    KIND_VALUES,
    LOCAL_FILES,
    LOCALSTACK,
    NAMESPACE,
    PUBLISHER,
    STATIC_KEYS,
    Helm,
    Manifest,
    Render,
    by_kind,
    container,
    env_map,
    one,
    pods,
    spark_container,
    spark_template,
    sparkapp,
)

pytestmark = pytest.mark.chart


# The containers that talk to AWS: the publisher and its `wait-for-aws`, the `helm test` pod, the
# driver with its `wait-for-aws` and `checkpoint-guard`, the executor.
AWS_CONTAINERS = 7


def aws_envs(manifests: list[Manifest]) -> dict[str, dict[str, object]]:
    """{pod/container: env} of every container that gets the AWS environment (it has AWS_REGION)."""
    found = {
        f"{label}/{c['name']}": env_map(c.get("env")) for label, _, containers in pods(manifests) for c in containers
    }
    return {name: env for name, env in found.items() if "AWS_REGION" in env}


def assert_real_aws(manifests: list[Manifest]) -> None:
    """No LocalStack object, no endpoint override and no static key in any container."""
    assert not [o["metadata"]["name"] for o in manifests if "localstack" in o["metadata"]["name"]]
    envs = aws_envs(manifests)
    assert len(envs) == AWS_CONTAINERS, sorted(envs)
    for name, env in envs.items():
        assert not {"AWS_ENDPOINT_URL", *STATIC_KEYS} & set(env), f"{name}: {sorted(env)}"


@pytest.mark.parametrize("values_file", AWS_FILES, ids=[p.name for p in AWS_FILES])
def test_aws_mode_has_no_endpoint_and_no_keys(render: Render, values_file: Path) -> None:
    manifests = render(values_file)
    # the scripts in ConfigMaps mention these names; what counts is what reaches a container
    text = yaml.safe_dump_all([o for o in manifests if o["kind"] != "ConfigMap"])
    for forbidden in ("AWS_ENDPOINT_URL", *STATIC_KEYS, "localstack"):
        assert forbidden not in text, f"{forbidden} rendered in AWS mode"
    for label, _, containers in pods(manifests):
        for c in containers:
            env = env_map(c.get("env"))
            assert not {"AWS_ENDPOINT_URL", *STATIC_KEYS} & set(env), f"{label}/{c['name']}: {sorted(env)}"
    raw = values_file.read_text()
    for forbidden in STATIC_KEYS:
        assert forbidden not in raw


@pytest.mark.parametrize("values_file", LOCAL_FILES, ids=[p.name for p in LOCAL_FILES])
def test_localstack_mode_wires_endpoint(render: Render, values_file: Path) -> None:
    manifests = render(values_file)
    endpoint = f"http://{LOCALSTACK}:4566"
    svc = one(manifests, "Service", LOCALSTACK)
    assert svc["spec"]["ports"][0]["port"] == 4566
    envs = [env_map(container(one(manifests, "Deployment", PUBLISHER), "publisher")["env"])]
    app = sparkapp(manifests)
    envs += [env_map(spark_container(app, role)["env"]) for role in ("driver", "executor")]
    envs += [env_map(c["env"]) for c in spark_template(app, "driver")["initContainers"]]
    for env in envs:
        assert env["AWS_ENDPOINT_URL"] == endpoint
        assert env["AWS_ACCESS_KEY_ID"] == "test" and env["AWS_SECRET_ACCESS_KEY"] == "test"


def test_localstack_endpoint_respects_name_truncation(run_helm: Helm) -> None:
    release = "r" * 53  # <release>-localstack is 64 characters: truncated to 63
    result = run_helm("template", release, str(CHART), "--namespace", NAMESPACE, "-f", str(KIND_VALUES))
    assert result.returncode == 0, result.stderr
    objs = [d for d in yaml.safe_load_all(result.stdout) if d]
    service = next(
        o
        for o in by_kind(objs, "Service")
        if "localstack" in o["metadata"]["name"] or o["metadata"]["name"].endswith("-localstac")
    )
    name = service["metadata"]["name"]
    assert len(name) <= 63
    for label, _, containers in pods(objs):
        for c in containers:
            endpoint = env_map(c.get("env")).get("AWS_ENDPOINT_URL")
            if endpoint is not None:
                assert endpoint == f"http://{name}:4566", f"{label}/{c['name']}"


def test_defaults_wire_localstack_everywhere(render: Render) -> None:
    """The umbrella's defaults: LocalStack on, its endpoint and dummy keys in every AWS container."""
    envs = aws_envs(render())
    assert len(envs) == AWS_CONTAINERS, sorted(envs)
    for name, env in envs.items():
        assert env["AWS_ENDPOINT_URL"] == f"http://{LOCALSTACK}:4566", name
        assert env["AWS_ACCESS_KEY_ID"] == "test" and env["AWS_SECRET_ACCESS_KEY"] == "test", name


def test_localstack_off_alone_means_real_aws(render: Render) -> None:
    """`--set localstack.enabled=false` and nothing else: it renders, with no endpoint and no keys
    (the default chain: IRSA on EKS)."""
    assert_real_aws(render(sets=("localstack.enabled=false",)))


def test_dummy_keys_only_while_localstack_is_on(render: Render) -> None:
    """`localstackCredentials: true` (the default) injects nothing once LocalStack is off: static keys
    would outrank IRSA in the SDKs' credential chain."""
    manifests = render(
        sets=("localstack.enabled=false", "global.aws.endpointUrl=", "global.aws.localstackCredentials=true")
    )
    assert_real_aws(manifests)


def test_own_endpoint_without_localstack_gets_no_keys(render: Render) -> None:
    """An emulator of one's own: its endpoint everywhere, no dummy keys from the chart."""
    envs = aws_envs(render(sets=("localstack.enabled=false", "global.aws.endpointUrl=http://emulator:4566")))
    assert len(envs) == AWS_CONTAINERS
    for name, env in envs.items():
        assert env["AWS_ENDPOINT_URL"] == "http://emulator:4566", name
        assert not set(STATIC_KEYS) & set(env), name


ROLE_ARN = "arn:aws:iam::111122223333:role/streams/article-reader"
ROLE_VARS = {"KINESIS_ROLE_ARN", "KINESIS_ROLE_EXTERNAL_ID", "KINESIS_ROLE_SESSION_NAME"}


def test_no_kinesis_role_by_default(render: Render) -> None:
    for name, env in aws_envs(render(sets=("localstack.enabled=false",))).items():
        assert not ROLE_VARS & set(env), name


def test_kinesis_role_reaches_every_aws_container(render: Render) -> None:
    """The publisher, the job's driver and executors, their init containers and the `helm test` pod
    all read the stream as the role (the job's executors also get it in the source's options)."""
    envs = aws_envs(
        render(
            sets=(
                "localstack.enabled=false",
                f"global.aws.kinesisRoleArn={ROLE_ARN}",
                "global.aws.kinesisRoleExternalId=pipeline-7f3a",
            )
        )
    )
    assert len(envs) == AWS_CONTAINERS, sorted(envs)
    for name, env in envs.items():
        assert env["KINESIS_ROLE_ARN"] == ROLE_ARN and env["KINESIS_ROLE_EXTERNAL_ID"] == "pipeline-7f3a", name
        assert "KINESIS_ROLE_SESSION_NAME" not in env, f"{name}: each component names its own session"
    only_arn = aws_envs(render(sets=("localstack.enabled=false", f"global.aws.kinesisRoleArn={ROLE_ARN}")))
    for name, env in only_arn.items():
        assert env["KINESIS_ROLE_ARN"] == ROLE_ARN and "KINESIS_ROLE_EXTERNAL_ID" not in env, name


def test_an_external_id_without_a_role_fails_naming_both(run_helm: Helm) -> None:
    result = run_helm("template", "x", str(CHART), "--set", "global.aws.kinesisRoleExternalId=pipeline-7f3a")
    assert result.returncode != 0
    assert "global.aws.kinesisRoleExternalId is set but global.aws.kinesisRoleArn is not" in result.stderr


@pytest.mark.parametrize(
    "bad_set",
    [
        "global.aws.kinesisRoleArn=article-reader",
        "global.aws.kinesisRoleArn=arn:aws:iam::111122223333:user/article-reader",
        "global.aws.kinesisRoleArn=arn:aws:iam::1111:role/article-reader",
        "global.aws.kinesisRoleExternalId=x",
        "global.aws.kinesisRoleExternalId=has space",
    ],
)
def test_the_schema_refuses_a_bad_role(run_helm: Helm, bad_set: str) -> None:
    result = run_helm("template", "x", str(CHART), "--set", f"global.aws.kinesisRoleArn={ROLE_ARN}", "--set", bad_set)
    assert result.returncode != 0 and "values don't meet" in result.stderr, result.stderr
    assert bad_set.partition("=")[0].rpartition(".")[2] in result.stderr
