"""publisher/templates/deployment.yaml (and the Secret it reads): probes, read-only root, the
API token as a mounted file, the `wait-for-aws` init container."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest
from chart_helpers import (
    CHART,
    PUBLISHER,
    Helm,
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


TOKEN = "a-token-of-32-characters-for-test"
TOKEN_DIR = "/var/run/secrets/article-pipeline/api-token"


def token_volume(objs: list[Manifest]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The publisher container's mount of the token and the pod volume behind it."""
    spec = deployment_spec(objs, PUBLISHER)
    mount = named(named(spec["containers"], "publisher")["volumeMounts"], "api-token")
    return mount, named(spec["volumes"], "api-token")


def test_publisher_has_no_token_unless_enabled(render: Render) -> None:
    objs = render()
    c = container(one(objs, "Deployment", PUBLISHER), "publisher")
    assert not {"PUBLISHER_API_TOKEN", "PUBLISHER_API_TOKEN_FILE"} & set(env_map(c["env"]))
    assert not by_kind(objs, "Secret")
    assert "api-token" not in [v["name"] for v in deployment_spec(objs, PUBLISHER)["volumes"]]


def test_publisher_reads_the_token_from_a_mounted_file(render: Render) -> None:
    """The token reaches the publisher as a read-only file (a mounted Secret updates in place, and the
    publisher re-reads it), never as an environment variable."""
    objs = render(sets=("publisher.apiToken.enabled=true", f"publisher.apiToken.value={TOKEN}"))
    (secret,) = by_kind(objs, "Secret")
    assert base64.b64decode(secret["data"]["token"]).decode() == TOKEN
    c = container(one(objs, "Deployment", PUBLISHER), "publisher")
    env = env_map(c["env"])
    assert "PUBLISHER_API_TOKEN" not in env
    assert env["PUBLISHER_API_TOKEN_FILE"] == f"{TOKEN_DIR}/token"
    mount, volume = token_volume(objs)
    assert mount["mountPath"] == TOKEN_DIR and mount["readOnly"] is True
    assert "subPath" not in mount, "a subPath mount never sees the Secret change"
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert volume["secret"]["items"] == [{"key": "token", "path": "token"}]
    # the publisher runs as uid/gid 10001 and the pod's fsGroup owns the file: group read, nothing more
    assert volume["secret"]["defaultMode"] == 0o440
    assert not any(e.get("valueFrom", {}).get("secretKeyRef") for e in c["env"])


def test_a_changed_token_rolls_the_publisher(render: Render) -> None:
    """A checksum of the token the chart holds is on the pod template: a new token is a new rollout."""

    def checksum(token: str) -> str:
        objs = render(sets=("publisher.apiToken.enabled=true", f"publisher.apiToken.value={token}"))
        annotations = one(objs, "Deployment", PUBLISHER)["spec"]["template"]["metadata"]["annotations"]
        return str(annotations["checksum/api-token"])

    assert checksum(TOKEN) == hashlib.sha256(TOKEN.encode()).hexdigest()
    assert checksum(TOKEN) == checksum(TOKEN)
    assert checksum(TOKEN) != checksum(TOKEN + "x")


def test_existing_secret_is_mounted_as_is(render: Render) -> None:
    """The GitOps way: a Secret the chart does not render (no token in values, nothing to regenerate)."""
    objs = render(
        sets=(
            "publisher.apiToken.enabled=true",
            "publisher.apiToken.existingSecret=my-token",
            "publisher.apiToken.secretKey=bearer",
        )
    )
    assert not by_kind(objs, "Secret")
    _, volume = token_volume(objs)
    assert volume["secret"]["secretName"] == "my-token"
    assert volume["secret"]["items"] == [{"key": "bearer", "path": "token"}]
    annotations = one(objs, "Deployment", PUBLISHER)["spec"]["template"]["metadata"].get("annotations", {})
    assert "checksum/api-token" not in annotations


def test_token_renders_the_same_every_time(render: Render) -> None:
    """No `lookup`, no random token: `helm template`, Argo CD and a client dry run render what
    `helm install` does, so applying a render never replaces a live token."""
    sets = ("publisher.apiToken.enabled=true", f"publisher.apiToken.value={TOKEN}")
    assert render(sets=sets) == render(sets=sets)
    text = (CHART / "charts" / "publisher" / "templates" / "secret-api-token.yaml").read_text()
    assert not re.search(r"\blookup\s+\"", text) and not re.search(r"\brand[A-Z]", text)


@pytest.mark.parametrize(
    "sets",
    [
        ("publisher.apiToken.enabled=true",),
        (
            "publisher.apiToken.enabled=true",
            "publisher.apiToken.existingSecret=mine",
            f"publisher.apiToken.value={TOKEN}",
        ),
    ],
    ids=["neither", "both"],
)
def test_token_needs_exactly_one_source(run_helm: Helm, sets: tuple[str, ...]) -> None:
    result = run_helm("template", "x", str(CHART), *(arg for s in sets for arg in ("--set", s)))
    assert result.returncode != 0
    assert "apiToken.existingSecret" in result.stderr and "apiToken.value" in result.stderr


def test_token_value_must_be_hard_to_guess(run_helm: Helm) -> None:
    result = run_helm(
        "template",
        "x",
        str(CHART),
        "--set",
        "publisher.apiToken.enabled=true",
        "--set",
        "publisher.apiToken.value=short",
    )
    assert result.returncode != 0 and "apiToken" in result.stderr


def test_publisher_waits_for_the_stream_and_bucket(kind_manifests: list[Manifest]) -> None:
    init = named(deployment_spec(kind_manifests, PUBLISHER)["initContainers"], "wait-for-aws")
    assert init["command"] == ["python3", "/scripts/wait_for_aws.py"]
    assert {"KINESIS_STREAM_NAME", "S3_BUCKET_NAME", "AWS_ENDPOINT_URL"} <= set(env_map(init["env"]))


def test_publisher_on_aws_creates_what_it_needs_without_waiting(aws_manifests: list[Manifest]) -> None:
    assert "initContainers" not in deployment_spec(aws_manifests, PUBLISHER)
    # the job still waits: it cannot create the stream
    assert spark_template(sparkapp(aws_manifests), "driver")["initContainers"]
