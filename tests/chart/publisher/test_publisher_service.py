"""publisher/templates/service.yaml."""

from __future__ import annotations

import pytest
from chart_helpers import (
    PUBLISHER,
    Manifest,
    one,
)

pytestmark = pytest.mark.chart


def test_publisher_service_targets_http(manifests: list[Manifest]) -> None:
    svc = one(manifests, "Service", PUBLISHER)
    assert svc["spec"]["ports"][0]["port"] == 8000
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    labels = one(manifests, "Deployment", PUBLISHER)["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
