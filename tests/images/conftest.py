"""Fixtures of the image tier: which engine runs containers, and the images built once."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TAG = os.environ.get("IMAGE_TAG", "0.1.0")
PUBLISHER = f"article-pipeline/publisher:{TAG}"
SPARK_JOB = f"article-pipeline/spark-job:{TAG}"
_BUILD_LINE = re.compile(r"^image=(\S+) seconds=(\d+) bytes=(\d+)$", re.M)
_REPORT_KEY = pytest.StashKey[list]()


@dataclass(frozen=True)
class Engine:
    """The container CLI (docker or podman) the images are built and run with."""

    name: str

    def run(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([self.name, *args], capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"`{self.name} {' '.join(args)}` failed ({proc.returncode}):\n"
                                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def inspect(self, image: str, fmt: str) -> str:
        return self.run("image", "inspect", "--format", fmt, image).stdout.strip()


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
    for name in ([forced] if forced else ["docker", "podman"]):
        if _works([name, "info"]):
            return Engine(name)
    pytest.skip("neither `docker info` nor `podman info` works here: no container engine to build "
                "and run images (install one, e.g. `bash scripts/setup-podman.sh` on Debian)")


@pytest.fixture(scope="session")
def built_images(engine: Engine, request: pytest.FixtureRequest) -> dict[str, dict[str, int]]:
    """Build both images once per session with scripts/build-images.sh; sizes and times."""
    start = time.monotonic()
    env = dict(os.environ, CONTAINER_ENGINE=engine.name, IMAGE_TAG=TAG)
    proc = subprocess.run(["bash", str(REPO / "scripts" / "build-images.sh")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, f"image build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    built = {m.group(1): {"seconds": int(m.group(2)), "bytes": int(m.group(3))}
             for m in _BUILD_LINE.finditer(proc.stdout)}
    assert set(built) == {PUBLISHER, SPARK_JOB}, proc.stdout
    lines = request.config.stash.setdefault(_REPORT_KEY, [])
    lines.append(f"images built with {engine.name} in {time.monotonic() - start:.0f}s "
                 f"(base image included when it had to be made)")
    for ref, info in built.items():
        lines.append(f"  {ref}: {info['bytes'] / 1e6:.0f} MB, build {info['seconds']}s")
    return built


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    lines = config.stash.get(_REPORT_KEY, [])
    if lines:
        terminalreporter.section("container images")
        for line in lines:
            terminalreporter.write_line(line)


# --- TEMPORARY (remove when tests/conftest.py provides moto_endpoint) ---------------------
@pytest.fixture(scope="session")
def moto_endpoint():
    import socket
    import sys
    import urllib.request
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    exe = str(Path(sys.executable).with_name("moto_server"))
    p = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1); break
        except Exception:
            time.sleep(0.1)
    os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1",
                      AWS_DEFAULT_REGION="us-east-1")
    yield url
    p.terminate(); p.wait()
