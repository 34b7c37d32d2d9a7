"""spark-job/templates/driver/: the driver's ServiceAccount and Role, its init containers and their scripts."""

from __future__ import annotations

from pathlib import Path

import pytest
from chart_helpers import (
    CI_VALUES,
    NAMESPACE,
    SPARK_APP,
    Helm,
    Manifest,
    Render,
    by_kind,
    document_text,
    one,
    spark_template,
    sparkapp,
    template_text,
    uncommented_verbs,
)

pytestmark = pytest.mark.chart


# What the Spark 4.2.0 driver does through the Kubernetes API with the chart's settings, and nothing
# more (each verb's code path is named next to it in templates/driver/rbac.yaml).
DRIVER_RULES = [
    {
        "apiGroups": [""],
        "resources": ["pods"],
        "verbs": ["get", "list", "watch", "create", "delete", "deletecollection"],
    },
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "deletecollection"]},
]


# sparkConf the chart sets so that the driver needs no more than DRIVER_RULES: no rights on Services
# (its Service goes with its pod, an owner reference) or PVCs (no claims on demand), no PATCH of pods.
RBAC_CONF = {
    "spark.kubernetes.driver.service.deleteOnTermination": "false",
    "spark.kubernetes.driver.ownPersistentVolumeClaim": "false",
    "spark.kubernetes.driver.reusePersistentVolumeClaim": "false",
    "spark.kubernetes.executor.deleteOnTermination": "true",
}


def test_driver_rbac(manifests: list[Manifest]) -> None:
    spec = sparkapp(manifests)["spec"]
    sa = spec["driver"]["serviceAccount"]
    accounts = {s["metadata"]["name"]: s for s in by_kind(manifests, "ServiceAccount")}
    assert sa in accounts
    assert spark_template(sparkapp(manifests), "driver")["automountServiceAccountToken"] is True
    role = one(manifests, "Role", f"{SPARK_APP}-driver")
    binding = one(manifests, "RoleBinding", f"{SPARK_APP}-driver")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE}]


@pytest.mark.parametrize("values_file", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_driver_role_grants_exactly_what_spark_uses(render: Render, values_file: Path) -> None:
    """No PersistentVolumeClaims (none on demand), no Services, no update/patch: the verbs Spark 4.2's
    scheduler backend calls with the chart's settings."""
    role = one(render(values_file), "Role", f"{SPARK_APP}-driver")
    assert role["rules"] == DRIVER_RULES
    conf = sparkapp(render(values_file))["spec"]["sparkConf"]
    assert RBAC_CONF.items() <= conf.items()


def test_every_driver_verb_names_its_code_path(run_helm: Helm) -> None:
    text = document_text(template_text(run_helm), "Role", f"{SPARK_APP}-driver")
    assert not uncommented_verbs(text), f"verbs without a comment naming the code path: {uncommented_verbs(text)}"


def test_driver_waits_for_the_stream_and_bucket(kind_manifests: list[Manifest]) -> None:
    driver_init = spark_template(sparkapp(kind_manifests), "driver")["initContainers"]
    assert [c["name"] for c in driver_init] == ["wait-for-aws", "checkpoint-guard"]
    assert "initContainers" not in spark_template(sparkapp(kind_manifests), "executor")
