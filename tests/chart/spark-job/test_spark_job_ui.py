"""spark-job/templates/ui/: the Spark UI Service, off by default (the way in is a port-forward to
the driver pod)."""

from __future__ import annotations

from pathlib import Path

import pytest
from chart_helpers import (
    CHART,
    CI_VALUES,
    SPARK_APP,
    Render,
    by_kind,
    one,
    sparkapp,
)

pytestmark = pytest.mark.chart


@pytest.mark.parametrize("values_file", [CHART / "values.yaml", *CI_VALUES], ids=lambda p: p.name)
def test_no_spark_ui_service_by_default(render: Render, values_file: Path) -> None:
    names = {s["metadata"]["name"] for s in by_kind(render(values_file), "Service")}
    assert f"{SPARK_APP}-ui" not in names


def test_spark_ui_service_selects_driver_when_enabled(render: Render) -> None:
    manifests = render(sets=("spark-job.uiService.enabled=true",))
    svc = one(manifests, "Service", f"{SPARK_APP}-ui")
    driver_labels = sparkapp(manifests)["spec"]["driver"]["labels"]
    executor_labels = sparkapp(manifests)["spec"]["executor"]["labels"]
    assert svc["spec"]["selector"].items() <= driver_labels.items()
    assert not svc["spec"]["selector"].items() <= executor_labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == 4040
