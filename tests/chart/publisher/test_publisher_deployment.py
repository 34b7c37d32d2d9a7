"""publisher/templates/deployment.yaml (and the Secret it reads): probes, read-only root, the
API token, the `wait-for-aws` init container."""

from __future__ import annotations

import pytest
from chart_helpers import (
    PUBLISHER,
    Manifest,
    Render,
    by_kind,
    container,
    deployment_spec,
    env_map,
    named,
    one,
    spark_template,
    sparkapp,
)

pytestmark = pytest.mark.chart


def test_publisher_probes_split_ready_and_live(manifests: list[Manifest]) -> None:
    c = container(one(manifests, "Deployment", PUBLISHER), "publisher")
    assert c["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    # startup must not depend on Kinesis either
    assert c["startupProbe"]["httpGet"]["path"] == "/health/live"


def test_publisher_readonly_root_with_writable_tmp(manifests: list[Manifest]) -> None:
    deploy = one(manifests, "Deployment", PUBLISHER)
    c = container(deploy, "publisher")
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    tmp = next(m for m in c["volumeMounts"] if m["mountPath"] == "/tmp")
    vol = next(v for v in deploy["spec"]["template"]["spec"]["volumes"] if v["name"] == tmp["name"])
    assert "emptyDir" in vol
    assert deploy["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001


def test_publisher_token_comes_from_a_secret_only_when_enabled(render: Render) -> None:
    off = container(one(render(), "Deployment", PUBLISHER), "publisher")
    assert "PUBLISHER_API_TOKEN" not in env_map(off["env"])
    assert not by_kind(render(), "Secret")
    objs = render(sets=("publisher.apiToken.enabled=true",))
    (secret,) = by_kind(objs, "Secret")
    token = container(one(objs, "Deployment", PUBLISHER), "publisher")["env"]
    ref = next(e for e in token if e["name"] == "PUBLISHER_API_TOKEN")["valueFrom"]["secretKeyRef"]
    assert ref == {"name": secret["metadata"]["name"], "key": "token"}
    import base64

    assert len(base64.b64decode(secret["data"]["token"])) == 32  # the publisher requires >= 16
    own = render(sets=("publisher.apiToken.enabled=true", "publisher.apiToken.existingSecret=my-token"))
    assert not by_kind(own, "Secret")
    ref = next(e for e in container(one(own, "Deployment", PUBLISHER), "publisher")["env"] if "valueFrom" in e)
    assert ref["valueFrom"]["secretKeyRef"]["name"] == "my-token"


def test_publisher_waits_for_the_stream_and_bucket(kind_manifests: list[Manifest]) -> None:
    init = named(deployment_spec(kind_manifests, PUBLISHER)["initContainers"], "wait-for-aws")
    assert init["command"] == ["python3", "/scripts/wait_for_aws.py"]
    assert {"KINESIS_STREAM_NAME", "S3_BUCKET_NAME", "AWS_ENDPOINT_URL"} <= set(env_map(init["env"]))


def test_publisher_on_aws_creates_what_it_needs_without_waiting(aws_manifests: list[Manifest]) -> None:
    assert "initContainers" not in deployment_spec(aws_manifests, PUBLISHER)
    # the job still waits: it cannot create the stream
    assert spark_template(sparkapp(aws_manifests), "driver")["initContainers"]
