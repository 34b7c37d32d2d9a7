"""spark-job/templates/checkpoints/: the checkpoint PVC, its mounts and its reset semantics, or
checkpoints on S3 (`checkpoint.location`: no claim, no volume, no mount)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from chart_helpers import (
    CHART,
    KIND_VALUES,
    SPARK_APP,
    Helm,
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

from common.contract import OUTPUTS

pytestmark = pytest.mark.chart

S3_CHECKPOINTS = "s3://my-bucket/checkpoints"


def checkpoint_values(values_file: Path) -> dict[str, Any]:
    ckpt: dict[str, Any] = values_of(values_file).get("spark-job", {}).get("checkpoint", {})
    return ckpt


def guard_env(app: Manifest) -> dict[str, Any]:
    return env_map(named(spark_template(app, "driver")["initContainers"], "checkpoint-guard")["env"])


def assert_pvc_mounted_everywhere(objs: list[Manifest], mount_path: str) -> None:
    """The claim is rendered, mounted read-write at CHECKPOINT_LOCATION on driver, executors and the guard."""
    app = sparkapp(objs)
    pvc_names = {p["metadata"]["name"] for p in by_kind(objs, "PersistentVolumeClaim")}
    for role in ("driver", "executor"):
        volumes = {v["name"]: v for v in spark_template(app, role)["volumes"]}
        container = spark_container(app, role)
        env = env_map(container["env"])
        checkpoint = env["CHECKPOINT_LOCATION"]
        assert checkpoint == mount_path
        mounts = [m for m in container["volumeMounts"] if m["mountPath"] == checkpoint]
        assert len(mounts) == 1, f"{role}: nothing mounted at {checkpoint}"
        claim = volumes[mounts[0]["name"]]["persistentVolumeClaim"]["claimName"]
        assert claim in pvc_names, f"{role}: claim {claim} is not rendered"
        assert not mounts[0].get("readOnly", False)
    assert guard_env(app)["CHECKPOINT_LOCATION"] == mount_path


def assert_on_s3(objs: list[Manifest], location: str) -> None:
    """No claim, no volume of any claim, nothing mounted for checkpoints in any container of the job,
    and CHECKPOINT_LOCATION the S3 URL wherever the chart sets it (job containers, guard)."""
    assert not by_kind(objs, "PersistentVolumeClaim")
    app = sparkapp(objs)
    for role in ("driver", "executor"):
        template = spark_template(app, role)
        assert not [v for v in template["volumes"] if v["name"] == "checkpoints" or "persistentVolumeClaim" in v]
        for c in [*template.get("initContainers", []), *template["containers"]]:
            mounted = {m["name"] for m in c.get("volumeMounts", [])}
            assert mounted <= {v["name"] for v in template["volumes"]}, c["name"]
            assert "checkpoints" not in mounted, f"{role}/{c['name']} mounts checkpoints"
        assert env_map(spark_container(app, role)["env"])["CHECKPOINT_LOCATION"] == location
    assert guard_env(app)["CHECKPOINT_LOCATION"] == location


def test_checkpoint_where_the_values_say(manifests: list[Manifest], values_file: Path) -> None:
    """Each ci/ values file: on S3 when it sets `checkpoint.location`, else the PVC at /checkpoints."""
    location = checkpoint_values(values_file).get("location")
    if location:
        assert_on_s3(manifests, location)
    else:
        assert_pvc_mounted_everywhere(manifests, "/checkpoints")


def test_checkpoint_pvc_by_default(render: Render) -> None:
    assert_pvc_mounted_everywhere(render(), "/checkpoints")


def test_checkpoint_pvc_access_mode_and_class_from_values(manifests: list[Manifest], values_file: Path) -> None:
    ckpt = checkpoint_values(values_file)
    if ckpt.get("location"):
        assert not by_kind(manifests, "PersistentVolumeClaim")
        return
    pvc = one(manifests, "PersistentVolumeClaim", f"{SPARK_APP}-checkpoints")
    assert pvc["spec"]["accessModes"] == [ckpt.get("accessMode", "ReadWriteOnce")]
    if ckpt.get("storageClass"):
        assert pvc["spec"]["storageClassName"] == ckpt["storageClass"]


def test_kind_uninstall_deletes_the_checkpoint(render: Render) -> None:
    """On kind the checkpoint goes with the release: a PVC without `keep`, or objects in LocalStack's S3."""
    for values in (CHART / "ci" / "default-values.yaml", KIND_VALUES, CHART / "values.yaml"):
        objs = render(values)
        if checkpoint_values(values).get("location"):
            assert values_of(values).get("localstack", {}).get("enabled", True), values.name
            assert not by_kind(objs, "PersistentVolumeClaim"), values.name
        else:
            pvc = one(objs, "PersistentVolumeClaim", f"{SPARK_APP}-checkpoints")
            assert "helm.sh/resource-policy" not in pvc["metadata"].get("annotations", {}), values.name
        guard = guard_env(sparkapp(objs))
        assert guard["ON_STREAM_RECREATED"] == "reset"
        assert guard["ALLOW_EXISTING_OUTPUTS"] == "false"


@pytest.mark.parametrize("location", [S3_CHECKPOINTS, "s3a://other-bucket/pipeline/checkpoints/"])
def test_checkpoint_on_s3_has_no_claim_volume_or_mount(render: Render, location: str) -> None:
    """Even with the PVC settings changed (they do not apply), nothing of a claim is rendered."""
    objs = render(
        sets=(
            f"spark-job.checkpoint.location={location}",
            "spark-job.checkpoint.keep=true",
            "spark-job.checkpoint.accessMode=ReadWriteMany",
            "spark-job.checkpoint.mountPath=/data/ckpt",
        )
    )
    assert_on_s3(objs, location)
    assert "/data/ckpt" not in str(sparkapp(objs)["spec"])


@pytest.mark.parametrize(
    "location",
    ["gs://my-bucket/checkpoints", "s3://my-bucket", "s3://my-bucket/", "/checkpoints", "s3://My_Bucket/x", "s3://"],
)
def test_a_bad_checkpoint_location_fails_naming_the_value(run_helm: Helm, location: str) -> None:
    """The schema refuses it (naming /checkpoint/location); the template refuses it too when the schema
    is skipped, naming `checkpoint.location` and the value."""
    checked = run_helm("template", "x", str(CHART), "--set", f"spark-job.checkpoint.location={location}")
    assert checked.returncode != 0
    assert "/checkpoint/location" in checked.stderr
    unchecked = run_helm(
        "template", "x", str(CHART), "--skip-schema-validation", "--set", f"spark-job.checkpoint.location={location}"
    )
    assert unchecked.returncode != 0
    assert f"checkpoint.location={location} is refused" in unchecked.stderr


def test_checkpoint_location_with_an_existing_claim_fails(run_helm: Helm) -> None:
    result = run_helm(
        "template", "x", str(CHART),
        "--set", f"spark-job.checkpoint.location={S3_CHECKPOINTS}",
        "--set", "spark-job.checkpoint.existingClaim=mine",
    )  # fmt: skip
    assert result.returncode != 0
    assert "checkpoint.location" in result.stderr and "checkpoint.existingClaim=mine" in result.stderr


@pytest.mark.parametrize("output", OUTPUTS)
def test_checkpoint_prefix_on_an_output_fails(run_helm: Helm, render: Render, output: str) -> None:
    """A checkpoint inside one of the job's tables: a reset would delete the table. In another bucket
    the same prefix is harmless."""
    location = f"s3://my-bucket/{output}/checkpoints"
    result = run_helm("template", "x", str(CHART), "--set", f"spark-job.checkpoint.location={location}")
    assert result.returncode != 0
    assert f"checkpoint.location={location} is refused" in result.stderr
    assert_on_s3(
        render(sets=(f"spark-job.checkpoint.location=s3://other-bucket/{output}",)), f"s3://other-bucket/{output}"
    )


def test_aws_keeps_the_checkpoint_and_fails_on_a_recreated_stream(aws_manifests: list[Manifest]) -> None:
    pvc = one(aws_manifests, "PersistentVolumeClaim", f"{SPARK_APP}-checkpoints")
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    guard = named(spark_template(sparkapp(aws_manifests), "driver")["initContainers"], "checkpoint-guard")
    assert env_map(guard["env"])["ON_STREAM_RECREATED"] == "fail"
