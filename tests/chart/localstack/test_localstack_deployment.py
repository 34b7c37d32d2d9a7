"""localstack/templates/deployment.yaml: readiness, rare restarts, kinesis-mock's heap."""

from __future__ import annotations

import pytest
from chart_helpers import (
    CHART,
    KIND_VALUES,
    LOCALSTACK,
    Manifest,
    Render,
    by_kind,
    container,
    deployment_spec,
    env_map,
    mebibytes,
    named,
    one,
)

pytestmark = pytest.mark.chart


def test_localstack_deployment(kind_manifests: list[Manifest]) -> None:
    deploy = one(kind_manifests, "Deployment", LOCALSTACK)
    c = container(deploy, "localstack")
    assert c["image"] == "localstack/localstack:4.14.0"
    env = env_map(c["env"])
    assert env["SERVICES"] == "kinesis,s3"
    assert c["livenessProbe"]["httpGet"]["path"] == "/_localstack/health"
    init = next(m for m in c["volumeMounts"] if m["mountPath"] == "/etc/localstack/init/ready.d")
    vol = next(v for v in deploy["spec"]["template"]["spec"]["volumes"] if v["name"] == init["name"])
    assert vol["configMap"]["name"] == f"{LOCALSTACK}-init"
    assert vol["configMap"]["defaultMode"] & 0o111, "init script must be executable"
    # only the init hook in ready.d: LocalStack runs every script it finds there
    assert [i["path"] for i in vol["configMap"]["items"]] == ["01-create-resources.sh"]


def test_localstack_ready_only_with_stream_and_bucket(kind_manifests: list[Manifest]) -> None:
    spec = deployment_spec(kind_manifests, LOCALSTACK)
    c = named(spec["containers"], "localstack")
    assert c["readinessProbe"]["exec"]["command"] == ["python3", "/etc/article-pipeline/ready.py"]
    probe_mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/etc/article-pipeline")
    volume = named(spec["volumes"], probe_mount["name"])
    assert [i["key"] for i in volume["configMap"]["items"]] == ["ready.py"]
    data = one(kind_manifests, "ConfigMap", f"{LOCALSTACK}-init")["data"]
    assert data["ready.py"] == (CHART / "charts" / "localstack" / "files" / "ready.py").read_text()


def test_localstack_restarts_rarely_and_claims_no_persistence(kind_manifests: list[Manifest]) -> None:
    deploy = one(kind_manifests, "Deployment", LOCALSTACK)
    template = deploy["spec"]["template"]
    c = named(template["spec"]["containers"], "localstack")
    assert not any(k.startswith("checksum/") for k in template["metadata"].get("annotations", {}))
    assert "PERSISTENCE" not in env_map(c["env"])
    assert not [p for p in by_kind(kind_manifests, "PersistentVolumeClaim") if "localstack" in p["metadata"]["name"]]
    live, start = c["livenessProbe"], c["startupProbe"]
    assert live["timeoutSeconds"] >= 5
    assert live["periodSeconds"] * live["failureThreshold"] >= 60
    assert start["periodSeconds"] * start["failureThreshold"] >= 180
    assert c["resources"]["limits"]["memory"] in ("2Gi",) or mebibytes(c["resources"]["limits"]["memory"]) >= 1536
    for deploy in by_kind(kind_manifests, "Deployment"):
        annotations = deploy["spec"]["template"]["metadata"].get("annotations", {})
        assert not any(k.startswith("checksum/") for k in annotations), deploy["metadata"]["name"]


def test_changing_a_name_rolls_localstack_through_its_env(render: Render) -> None:
    before = one(render(KIND_VALUES), "ConfigMap", f"{LOCALSTACK}-init")
    objs = render(KIND_VALUES, sets=("global.kinesis.streamName=other",))
    assert one(objs, "ConfigMap", f"{LOCALSTACK}-init") == before
    env = env_map(named(deployment_spec(objs, LOCALSTACK)["containers"], "localstack")["env"])
    assert env["AP_STREAM_NAME"] == "other"


def test_kinesis_mock_gets_a_heap_that_lasts(kind_manifests: list[Manifest]) -> None:
    """kinesis-mock (node) ran out of its default heap after ~15 minutes on kind: every stream gone."""
    c = named(deployment_spec(kind_manifests, LOCALSTACK)["containers"], "localstack")
    heap = int(env_map(c["env"])["NODE_OPTIONS"].split("=")[1])
    assert heap >= 1536
    assert mebibytes(c["resources"]["limits"]["memory"]) >= heap + 1024  # plus Python and S3 objects


def test_kinesis_mock_writes_no_state_dump(kind_manifests: list[Manifest]) -> None:
    """With its default persistence kinesis-mock serialized every stream to one JSON file every 5 s:
    79 MB after ~35 minutes on kind, a core busy with it, every Kinesis call timing out."""
    c = named(deployment_spec(kind_manifests, LOCALSTACK)["containers"], "localstack")
    assert env_map(c["env"])["KINESIS_PERSISTENCE"] == "0"
