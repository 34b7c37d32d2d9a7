"""Without a container engine, every make target that needs one stops at once, before anything is
compiled, with one line saying how to get one.

The first kind command of docs/kubernetes.md on a fresh Debian machine (no podman, no docker) must
not compile kind and Kubernetes for many minutes and then fail. Each target runs with a PATH that
holds everything of this machine's PATH but podman and docker, and an empty cache (so a compile or
a build that starts before the check cannot finish within the time allowed).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.images

REPO = Path(__file__).resolve().parents[2]
ENGINES = {"podman", "docker"}
# every target that builds, loads or runs a container (mk/kind.mk, Makefile)
TARGETS_NEEDING_AN_ENGINE = [
    "kind-up",
    "kind-images",
    "kind-node-image",
    "operator-image",
    "localstack-image",
    "netpol-image",
    "prometheus-image",
    "prometheus",
    "kind-load",
    "operator",
    "deploy",
    "kind-down",
    "images",
    "base-image",
]
MAX_SECONDS = 15.0


@pytest.fixture(scope="module")
def path_without_engine(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH with a link to every program of this machine's PATH except podman and docker."""
    bin_dir = tmp_path_factory.mktemp("path-without-engine")
    for folder in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            link = bin_dir / entry.name
            if entry.name in ENGINES or link.exists() or link.is_symlink():
                continue
            if entry.is_file() and os.access(entry.path, os.X_OK):
                link.symlink_to(entry.path)
    return str(bin_dir)


@pytest.mark.parametrize("target", TARGETS_NEEDING_AN_ENGINE)
def test_without_an_engine_a_target_says_how_to_get_one_at_once(
    target: str, path_without_engine: str, tmp_path: Path
) -> None:
    env = {**os.environ, "PATH": path_without_engine, "XDG_CACHE_HOME": str(tmp_path)}
    for name in ("CONTAINER_ENGINE", "ENGINE", "ARTICLE_PIPELINE_BUILD_LOCK", "MAKEFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    start = time.monotonic()
    try:
        proc = subprocess.run(
            ["make", "--no-print-directory", target],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=MAX_SECONDS * 4,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"`make {target}` without podman or docker still ran after {exc.timeout:.0f}s: it compiles or "
            f"builds before checking for a container engine\n{exc.stderr!r}"
        ) from None
    seconds = time.monotonic() - start
    assert proc.returncode != 0, proc.stdout + proc.stderr
    hints = [line for line in proc.stderr.splitlines() if "make podman-setup" in line]
    assert len(hints) == 1 and hints[0].startswith("no container engine:"), (
        f"`make {target}` without an engine did not say in one line how to get one:\n{proc.stdout}\n{proc.stderr}"
    )
    assert seconds < MAX_SECONDS, f"`make {target}` took {seconds:.1f}s to find there is no engine"
    assert not (tmp_path / "article-pipeline" / "go").exists(), f"`make {target}` started a Go build"
