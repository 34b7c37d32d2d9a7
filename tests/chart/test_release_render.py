"""helm lint/template for every ci/ values file, and schema validation of what renders.

Core kinds are validated with kubernetes-validate (schemas ship in the package, strict mode,
pinned Kubernetes version); SparkApplication against the Spark Operator CRD's openAPIV3Schema.
"""

from __future__ import annotations

import copy
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from chart_helpers import (
    CHART,
    CI_VALUES,
    KUBERNETES_VERSION,
    SUBCHARTS,
    Manifest,
    is_aws_values,
    strict,
    values_of,
)

pytestmark = pytest.mark.chart

CRD_FILE = Path(__file__).parent / "schemas" / "sparkoperator.k8s.io_sparkapplications-v2.5.2.yaml"
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
Helm = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def sparkapp_validator() -> jsonschema.protocols.Validator:
    """Strict validator for sparkoperator.k8s.io/v1beta2 SparkApplication."""
    crd = next(d for d in yaml.safe_load_all(CRD_FILE.read_text()) if d)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta2")
    schema = strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    # metadata is `type: object` in CRDs; the API server checks it, so check the essentials here.
    schema["properties"]["metadata"] = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string", "maxLength": 63, "pattern": DNS1123.pattern}},
    }
    return jsonschema.Draft7Validator(schema)


def test_ci_values_files_cover_kind_and_aws() -> None:
    names = {p.name for p in CI_VALUES}
    assert {"default-values.yaml", "aws-values.yaml"} <= names
    assert any(is_aws_values(p) for p in CI_VALUES)
    assert not all(is_aws_values(p) for p in CI_VALUES)


def test_lint_strict(run_helm: Helm, values_file: Path) -> None:
    result = run_helm("lint", "--strict", "--kube-version", KUBERNETES_VERSION, str(CHART), "-f", str(values_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("subchart", SUBCHARTS, ids=[p.name for p in SUBCHARTS])
def test_subchart_lints_standalone(run_helm: Helm, subchart: Path) -> None:
    result = run_helm("lint", "--strict", str(subchart))
    assert result.returncode == 0, result.stdout + result.stderr


def test_renders_expected_kinds(manifests: list[Manifest], values_file: Path) -> None:
    kinds = sorted(o["kind"] for o in manifests)
    for kind in (
        "Deployment",
        "Service",
        "ServiceAccount",
        "SparkApplication",
        "Role",
        "RoleBinding",
    ):
        assert kind in kinds, f"{values_file.name}: no {kind} rendered"
    # the checkpoint claim, unless the checkpoints are on S3
    on_s3 = bool(values_of(values_file).get("spark-job", {}).get("checkpoint", {}).get("location"))
    assert ("PersistentVolumeClaim" in kinds) is not on_s3, f"{values_file.name}: checkpoints on S3 {on_s3}"
    if is_aws_values(values_file):
        assert not any("localstack" in o["metadata"]["name"] for o in manifests)
    else:
        assert any(o["metadata"]["name"].endswith("-localstack") for o in manifests)


def test_core_objects_match_kubernetes_schema(manifests: list[Manifest]) -> None:
    checked = 0
    for obj in manifests:
        if obj["apiVersion"].startswith("sparkoperator.k8s.io/"):
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {err.message}")
        checked += 1
    assert checked >= 8


def test_sparkapplication_matches_crd(
    manifests: list[Manifest], sparkapp_validator: jsonschema.protocols.Validator
) -> None:
    apps = [o for o in manifests if o["kind"] == "SparkApplication"]
    assert apps
    for app in apps:
        assert app["apiVersion"] == "sparkoperator.k8s.io/v1beta2"
        errors = sorted(sparkapp_validator.iter_errors(app), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_crd_validator_rejects_unknown_field(
    sparkapp_validator: jsonschema.protocols.Validator, kind_manifests: list[Manifest]
) -> None:
    app = copy.deepcopy(next(o for o in kind_manifests if o["kind"] == "SparkApplication"))
    app["spec"]["driver"]["memoryy"] = "1g"
    assert not sparkapp_validator.is_valid(app)


@pytest.mark.parametrize(
    "bad_set",
    [
        "publisher.image.tag=latest",
        "spark-job.image.tag=latest",
        "publisher.bogus=1",
        "global.aws.bogus=1",
        "spark-job.job.startingPosition=EARLIEST",
        "spark-job.restartPolicy.type=Sometimes",
        "spark-job.checkpoint.onStreamRecreated=maybe",
        "spark-job.driver.coreRequest=lots",
        "spark-job.executor.memoryOverhead=1.25GB",
        "localstack.persistence.enabled=true",
        "localstack.fullnameOverride=aws",
    ],
)
def test_values_schema_rejects(run_helm: Helm, bad_set: str) -> None:
    result = run_helm("template", "x", str(CHART), "--set", bad_set)
    assert result.returncode != 0, f"--set {bad_set} should fail the values schema"
    assert "schema" in result.stderr.lower() or "values don't meet" in result.stderr.lower()
