"""aws-env/templates/_env.tpl (`aws-env.vars`): the AWS environment of every container that talks
to Kinesis or S3: endpoint and dummy keys with LocalStack only, the endpoint following its Service."""

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
