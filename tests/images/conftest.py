"""Fixtures of the image tier: which engine runs containers, and the images built once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest
from image_support import PUBLISHER, REPO, SPARK_JOB, TAG, Engine

_BUILD_LINE = re.compile(r"^image=(\S+) seconds=(\d+) bytes=(\d+)$", re.M)
_REPORT_KEY = pytest.StashKey[list]()


def _works(cmd: list[str]) -> bool:
    if shutil.which(cmd[0]) is None:
        return False
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def engine() -> Engine:
    forced = os.environ.get("CONTAINER_ENGINE")
    for name in [forced] if forced else ["docker", "podman"]:
        if _works([name, "info"]):
            return Engine(name)
    pytest.skip(
        "neither `docker info` nor `podman info` works here: no container engine to build "
        "and run images (install one, e.g. `bash scripts/setup-podman.sh` on Debian)"
    )


@pytest.fixture(scope="session")
def built_images(engine: Engine, request: pytest.FixtureRequest) -> dict[str, dict[str, int]]:
    """Build both images once per session with scripts/build-image.sh; sizes and times."""
    start = time.monotonic()
    env = dict(os.environ, CONTAINER_ENGINE=engine.name, IMAGE_TAG=TAG)
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-image.sh"), "publisher", "spark-job"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, f"image build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    built = {
        m.group(1): {"seconds": int(m.group(2)), "bytes": int(m.group(3))} for m in _BUILD_LINE.finditer(proc.stdout)
    }
    assert set(built) == {PUBLISHER, SPARK_JOB}, proc.stdout
    lines = request.config.stash.setdefault(_REPORT_KEY, [])
    lines.append(f"images built with {engine.name} in {time.monotonic() - start:.0f}s")
    lines += [f"  {line}" for line in proc.stdout.splitlines() if line.startswith("build-base-image:")]
    for ref, info in built.items():
        lines.append(f"  {ref}: {info['bytes'] / 1e6:.0f} MB, build {info['seconds']}s")
    return built


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = config.stash.get(_REPORT_KEY, [])
    if lines:
        terminalreporter.section("container images")
        for line in lines:
            terminalreporter.write_line(line)
