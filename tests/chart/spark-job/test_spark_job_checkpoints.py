"""spark-job/templates/checkpoints/: the checkpoint PVC, its mounts and its reset semantics."""

from __future__ import annotations

from pathlib import Path

import pytest
from chart_helpers import (
    CHART,
    KIND_VALUES,
    SPARK_APP,
    Manifest,
    Render,
    by_kind,
    env_map,
    named,
    one,
    spark_container,
    spark_template,
    sparkapp,
    values_of,
)

pytestmark = pytest.mark.chart


def test_checkpoint_pvc_mounted_on_driver_and_executors(manifests: list[Manifest]) -> None:
    app = sparkapp(manifests)
    pvc_names = {p["metadata"]["name"] for p in by_kind(manifests, "PersistentVolumeClaim")}
    for role in ("driver", "executor"):
        volumes = {v["name"]: v for v in spark_template(app, role)["volumes"]}
        container = spark_container(app, role)
        env = env_map(container["env"])
        checkpoint = env["CHECKPOINT_LOCATION"]
        assert checkpoint == "/checkpoints"
        mounts = [m for m in container["volumeMounts"] if m["mountPath"] == checkpoint]
        assert len(mounts) == 1, f"{role}: nothing mounted at {checkpoint}"
        claim = volumes[mounts[0]["name"]]["persistentVolumeClaim"]["claimName"]
        assert claim in pvc_names, f"{role}: claim {claim} is not rendered"
        assert not mounts[0].get("readOnly", False)


def test_checkpoint_pvc_access_mode_and_class_from_values(manifests: list[Manifest], values_file: Path) -> None:
    pvc = one(manifests, "PersistentVolumeClaim", f"{SPARK_APP}-checkpoints")
    ckpt = values_of(values_file).get("spark-job", {}).get("checkpoint", {})
    assert pvc["spec"]["accessModes"] == [ckpt.get("accessMode", "ReadWriteOnce")]
    if ckpt.get("storageClass"):
        assert pvc["spec"]["storageClassName"] == ckpt["storageClass"]


def test_kind_uninstall_deletes_the_checkpoint(render: Render) -> None:
    for values in (CHART / "ci" / "default-values.yaml", KIND_VALUES, CHART / "values.yaml"):
        pvc = one(render(values), "PersistentVolumeClaim", f"{SPARK_APP}-checkpoints")
        assert "helm.sh/resource-policy" not in pvc["metadata"].get("annotations", {}), values.name
        guard = named(spark_template(sparkapp(render(values)), "driver")["initContainers"], "checkpoint-guard")
        assert env_map(guard["env"])["ON_STREAM_RECREATED"] == "reset"
        assert env_map(guard["env"])["ALLOW_EXISTING_OUTPUTS"] == "false"


def test_aws_keeps_the_checkpoint_and_fails_on_a_recreated_stream(aws_manifests: list[Manifest]) -> None:
    pvc = one(aws_manifests, "PersistentVolumeClaim", f"{SPARK_APP}-checkpoints")
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    guard = named(spark_template(sparkapp(aws_manifests), "driver")["initContainers"], "checkpoint-guard")
    assert env_map(guard["env"])["ON_STREAM_RECREATED"] == "fail"
