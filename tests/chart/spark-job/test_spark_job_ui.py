"""spark-job/templates/ui/: the Spark UI Service."""

from __future__ import annotations

import pytest
from chart_helpers import (
    SPARK_APP,
    Manifest,
    one,
    sparkapp,
)

pytestmark = pytest.mark.chart


def test_spark_ui_service_selects_driver(manifests: list[Manifest]) -> None:
    svc = one(manifests, "Service", f"{SPARK_APP}-ui")
    driver_labels = sparkapp(manifests)["spec"]["driver"]["labels"]
    executor_labels = sparkapp(manifests)["spec"]["executor"]["labels"]
    assert svc["spec"]["selector"].items() <= driver_labels.items()
    assert not svc["spec"]["selector"].items() <= executor_labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == 4040
