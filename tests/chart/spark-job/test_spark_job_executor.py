"""spark-job/templates/executor/: the executors' ServiceAccount (no Kubernetes API rights)."""

from __future__ import annotations

import pytest
from chart_helpers import Manifest, by_kind, spark_template, sparkapp

pytestmark = pytest.mark.chart


def test_executors_have_no_api_rights(manifests: list[Manifest]) -> None:
    spec = sparkapp(manifests)["spec"]
    sa = spec["driver"]["serviceAccount"]
    accounts = {s["metadata"]["name"]: s for s in by_kind(manifests, "ServiceAccount")}
    # executors run under their own ServiceAccount: no Role, no token
    executor_sa = spec["executor"]["serviceAccount"]
    assert executor_sa != sa and executor_sa in accounts
    assert accounts[executor_sa]["automountServiceAccountToken"] is False
    assert spark_template(sparkapp(manifests), "executor")["automountServiceAccountToken"] is False
