"""Shared by the image tests and their conftest: image names and the container engine CLI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# scripts/build-image.sh tags each app image by content (0.1.0-<12 hex of its inputs' hash>) and
# moves 0.1.0 to the newest build: the tests run the images by that name (or IMAGE_TAG's).
TAG = os.environ.get("IMAGE_TAG", "0.1.0")
# what a content tag looks like (IMAGE_TAG set: that tag)
CONTENT_TAG = re.escape(os.environ["IMAGE_TAG"]) if os.environ.get("IMAGE_TAG") else r"0\.1\.0-[0-9a-f]{12}"
PUBLISHER = f"article-pipeline/publisher:{TAG}"
SPARK_JOB = f"article-pipeline/spark-job:{TAG}"


@dataclass(frozen=True)
class Engine:
    """The container CLI (docker or podman) the images are built and run with."""

    name: str

    def run(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([self.name, *args], capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"`{self.name} {' '.join(args)}` failed ({proc.returncode}):\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        return proc

    def inspect(self, image: str, fmt: str) -> str:
        return self.run("image", "inspect", "--format", fmt, image).stdout.strip()


GO = Path("/usr/local/go/bin/go")


def build_go_image(engine: Engine, folder: str, name: str, timeout: float) -> str:
    """Build the image of ``images/<folder>/`` whose binary Go compiles (skipped without Go); its ``name``."""
    import pytest

    if shutil.which("go") is None and not GO.exists():
        pytest.skip(f"no Go toolchain: scripts/build-image.sh {folder} compiles its binary")
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-image.sh"), folder],
        cwd=REPO,
        env=dict(os.environ, CONTAINER_ENGINE=engine.name),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"image build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert re.search(rf"^image={re.escape(name)} ", proc.stdout, re.M), proc.stdout
    return name
