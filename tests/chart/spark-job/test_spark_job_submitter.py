"""spark-job/templates/submitter/: what spark-submit in the operator's controller may do here."""

from __future__ import annotations

import pytest
from chart_helpers import (
    ROOT,
    SPARK_APP,
    Helm,
    Manifest,
    document_text,
    one,
    template_text,
    uncommented_verbs,
)

pytestmark = pytest.mark.chart


def test_operator_may_create_the_driver_network_policy_and_nothing_more(kind_manifests: list[Manifest]) -> None:
    """Spark 4.2's spark-submit creates one NetworkPolicy per driver by server-side apply (a PATCH
    that creates: the API server checks `create` and `patch`); it never reads, lists or deletes one
    (the policy goes with the driver pod, its owner)."""
    role = one(kind_manifests, "Role", f"{SPARK_APP}-submitter")
    assert role["rules"] == [
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["create", "patch"]}
    ]
    binding = one(kind_manifests, "RoleBinding", f"{SPARK_APP}-submitter")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    # `make operator` installs release spark-operator in namespace spark-operator
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "spark-operator-controller", "namespace": "spark-operator"}
    ]
    mk = (ROOT / "mk" / "kind.mk").read_text()
    assert "SPARK_OPERATOR_NAMESPACE ?= spark-operator" in mk
    assert "upgrade --install spark-operator " in mk


def test_every_submitter_verb_names_its_code_path(run_helm: Helm) -> None:
    text = document_text(template_text(run_helm), "Role", f"{SPARK_APP}-submitter")
    assert not uncommented_verbs(text), f"verbs without a comment naming the code path: {uncommented_verbs(text)}"
