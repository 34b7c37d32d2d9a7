"""spark-job/templates/submitter/: what spark-submit in the operator's controller may do here."""

from __future__ import annotations

import pytest
from chart_helpers import (
    ROOT,
    SPARK_APP,
    Manifest,
    one,
)

pytestmark = pytest.mark.chart


def test_operator_may_create_the_driver_network_policy(kind_manifests: list[Manifest]) -> None:
    """Spark >= 4.2's spark-submit creates a NetworkPolicy per driver (server-side apply: PATCH)."""
    role = one(kind_manifests, "Role", f"{SPARK_APP}-submitter")
    rule = next(r for r in role["rules"] if "networkpolicies" in r["resources"])
    assert rule["apiGroups"] == ["networking.k8s.io"]
    assert {"get", "create", "patch", "delete"} <= set(rule["verbs"])
    binding = one(kind_manifests, "RoleBinding", f"{SPARK_APP}-submitter")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    # `make operator` installs release spark-operator in namespace spark-operator
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "spark-operator-controller", "namespace": "spark-operator"}
    ]
    mk = (ROOT / "mk" / "kind.mk").read_text()
    assert "SPARK_OPERATOR_NAMESPACE ?= spark-operator" in mk
    assert "upgrade --install spark-operator " in mk
