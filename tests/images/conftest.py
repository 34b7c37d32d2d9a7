"""Fixtures of the image tier: which engine runs containers, and the images built once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest
from image_support import CONTENT_TAG, PUBLISHER, REPO, SPARK_JOB, Engine

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
    """Build both images once per session with scripts/build-image.sh; sizes and times.

    Each image comes out under its content tag (what `make kind-load` and `make deploy` use),
    and TAG (0.1.0 unless IMAGE_TAG) names the same image: the tests run it by that name.
    """
    start = time.monotonic()
    env = dict(os.environ, CONTAINER_ENGINE=engine.name)
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-image.sh"), "publisher", "spark-job"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, f"image build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    by_content = {
        m.group(1): {"seconds": int(m.group(2)), "bytes": int(m.group(3))} for m in _BUILD_LINE.finditer(proc.stdout)
    }
    built = {}
    for alias in (PUBLISHER, SPARK_JOB):
        names = [name for name in by_content if name.split(":")[0] == alias.split(":")[0]]
        assert len(names) == 1, proc.stdout
        assert re.fullmatch(rf"{re.escape(alias.split(':')[0])}:{CONTENT_TAG}", names[0]), names
        assert engine.inspect(names[0], "{{.Id}}") == engine.inspect(alias, "{{.Id}}"), f"{alias} is not {names[0]}"
        built[alias] = by_content[names[0]]
    printed = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-image.sh"), "--print", "publisher", "spark-job"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert printed == list(by_content), "--print (make kind-load, make deploy) names other images than the build"
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
