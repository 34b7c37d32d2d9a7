"""Integration fixtures: each Kinesis emulator in turn (the kinesis-local fixtures live in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(params=["moto", "kinesis-local"])
def emulator(request: pytest.FixtureRequest) -> tuple[str, Any]:
    """(endpoint, Kinesis client) of each emulator in turn."""
    if request.param == "moto":
        return request.getfixturevalue("moto_endpoint"), request.getfixturevalue("kinesis")
    return request.getfixturevalue("kinesis_local_endpoint"), request.getfixturevalue("kinesis_local")
