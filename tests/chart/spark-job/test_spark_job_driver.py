"""spark-job/templates/driver/: the driver's ServiceAccount and Role, its init containers and their scripts."""

from __future__ import annotations

import pytest
from chart_helpers import (
    NAMESPACE,
    SPARK_APP,
    Manifest,
    by_kind,
    one,
    spark_template,
    sparkapp,
)

pytestmark = pytest.mark.chart


def test_driver_rbac(manifests: list[Manifest]) -> None:
    spec = sparkapp(manifests)["spec"]
    sa = spec["driver"]["serviceAccount"]
    accounts = {s["metadata"]["name"]: s for s in by_kind(manifests, "ServiceAccount")}
    assert sa in accounts
    assert spark_template(sparkapp(manifests), "driver")["automountServiceAccountToken"] is True
    role = one(manifests, "Role", f"{SPARK_APP}-driver")
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert {"pods", "services", "configmaps", "persistentvolumeclaims"} <= resources
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert {"create", "get", "list", "watch", "delete"} <= verbs
    binding = one(manifests, "RoleBinding", f"{SPARK_APP}-driver")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE}]


def test_driver_waits_for_the_stream_and_bucket(kind_manifests: list[Manifest]) -> None:
    driver_init = spark_template(sparkapp(kind_manifests), "driver")["initContainers"]
    assert [c["name"] for c in driver_init] == ["wait-for-aws", "checkpoint-guard"]
    assert "initContainers" not in spark_template(sparkapp(kind_manifests), "executor")
