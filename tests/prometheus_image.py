"""images/prometheus/ as the tests read it: the pins of versions.sh, shared with promtool."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "images" / "prometheus"
VERSIONS = FOLDER / "versions.sh"
INSTALL_PROMTOOL = REPO / "scripts" / "lint" / "install-promtool.sh"


def pinned(name: str) -> str:
    """The value versions.sh assigns to NAME (a plain `NAME=value` or `NAME="value"` line)."""
    match = re.search(rf'^{name}="?([^"\s]+)"?$', VERSIONS.read_text(), re.M)
    assert match, f"versions.sh sets no {name}"
    return match.group(1)


def image() -> str:
    return f"localhost/article-pipeline/prometheus:{pinned('PROMETHEUS_RELEASE')}"


def version_line(command: str) -> str:
    """The first line `<command> --version` prints for the pinned build (the ldflags stamp)."""
    return (
        f"{command}, version {pinned('PROMETHEUS_RELEASE')} (branch: module, revision: {pinned('PROMETHEUS_VERSION')})"
    )
