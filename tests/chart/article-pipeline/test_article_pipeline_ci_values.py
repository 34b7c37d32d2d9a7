"""The umbrella chart's ci/*.yaml: kind with LocalStack (offline and with a registry), real AWS."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from chart_helpers import (
    AWS_FILES,
    CHART,
    KIND_VALUES,
    LOCALSTACK,
    PUBLISHER,
    ROOT,
    STATIC_KEYS,
    Manifest,
    Render,
    by_kind,
    images,
    one,
    pods,
    sparkapp,
)

pytestmark = pytest.mark.chart


IRSA = "eks.amazonaws.com/role-arn"


@pytest.mark.parametrize("values_file", AWS_FILES, ids=[p.name for p in AWS_FILES])
def test_aws_mode_uses_irsa(render: Render, values_file: Path) -> None:
    manifests = render(values_file)
    accounts = {s["metadata"]["name"]: s for s in by_kind(manifests, "ServiceAccount")}
    publisher_sa = one(manifests, "Deployment", PUBLISHER)["spec"]["template"]["spec"]["serviceAccountName"]
    spec = sparkapp(manifests)["spec"]
    for sa in (publisher_sa, spec["driver"]["serviceAccount"], spec["executor"]["serviceAccount"]):
        role_arn = accounts[sa]["metadata"].get("annotations", {}).get(IRSA, "")
        assert role_arn.startswith("arn:aws:iam::"), f"ServiceAccount {sa}: no IRSA annotation"


def test_no_static_credentials_in_any_values_file() -> None:
    for path in [CHART / "values.yaml", *CHART.glob("ci/*.yaml"), *CHART.glob("charts/*/values.yaml")]:
        text = path.read_text()
        for forbidden in (*STATIC_KEYS, "aws_access_key_id", "secretAccessKey", "accessKeyId"):
            assert forbidden not in text, f"{path.relative_to(ROOT)} mentions {forbidden}"


def test_kind_nodeports_match_kind_config(kind_manifests: list[Manifest]) -> None:
    config = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    nodes = config["nodes"]
    # executors may land on another node than the driver (checkpoints on S3 in the kind values)
    assert [node["role"] for node in nodes] == ["control-plane", "worker", "worker"]
    assert not any(node.get("extraPortMappings") for node in nodes[1:]), "host ports map to the control plane only"
    mappings = {m["containerPort"]: m["hostPort"] for m in config["nodes"][0]["extraPortMappings"]}
    listen = {m["listenAddress"] for m in config["nodes"][0]["extraPortMappings"]}
    assert listen == {"127.0.0.1"}, "host ports must bind to loopback only"
    for name, host_port in ((LOCALSTACK, 14566), (PUBLISHER, 18000)):
        svc = one(kind_manifests, "Service", name)
        assert svc["spec"]["type"] == "NodePort"
        node_port = svc["spec"]["ports"][0]["nodePort"]
        assert 30000 <= node_port <= 32767
        assert mappings.get(node_port) == host_port, f"{name}: nodePort {node_port} not mapped to {host_port}"


def test_kind_values_use_only_local_images(render: Render) -> None:
    objs = render(KIND_VALUES)
    refs = images(objs)
    assert refs and all(ref.startswith("localhost/article-pipeline/") for ref in refs), refs
    for _, _, containers in pods(objs):
        for c in containers:
            assert c.get("imagePullPolicy", "IfNotPresent") in ("IfNotPresent", "Never")
    assert sparkapp(objs)["spec"]["imagePullPolicy"] in ("IfNotPresent", "Never")
    # the names the image builds produce
    assert "localhost/article-pipeline/localstack:4.14.0" in refs
    built = (ROOT / "images" / "localstack" / "Dockerfile").read_text()
    assert "localhost/article-pipeline/localstack:4.14.0" in built


def test_default_values_never_name_home_built_images_upstream(render: Render) -> None:
    for ref in images(render(CHART / "ci" / "default-values.yaml")):
        assert not ref.startswith("localhost/"), ref
