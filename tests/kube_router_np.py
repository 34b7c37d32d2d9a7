"""images/kube-router-np/ as the tests read it: the pins of versions.sh and the DaemonSet manifest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

FOLDER = Path(__file__).resolve().parents[1] / "images" / "kube-router-np"


def pinned(name: str) -> str:
    """The value versions.sh assigns to NAME (a plain `NAME=value` or `NAME="value"` line)."""
    match = re.search(rf'^{name}="?([^"\s]+)"?$', (FOLDER / "versions.sh").read_text(), re.M)
    assert match, f"versions.sh sets no {name}"
    return match.group(1)


def image() -> str:
    return f"localhost/article-pipeline/kube-router-np:{pinned('KUBE_ROUTER_VERSION')}"


def manifest(name: str = "daemonset.yaml") -> dict[str, dict[str, Any]]:
    """The objects of a manifest of the folder, by kind."""
    docs = [doc for doc in yaml.safe_load_all((FOLDER / name).read_text()) if doc]
    return {doc["kind"]: doc for doc in docs}


def container() -> dict[str, Any]:
    """The kube-router container of the DaemonSet."""
    (only,) = manifest()["DaemonSet"]["spec"]["template"]["spec"]["containers"]
    return only


def flags() -> dict[str, str]:
    """The DaemonSet's --name=value arguments, by name."""
    return dict(arg.removeprefix("--").split("=", 1) for arg in container()["args"])
