"""Shared by the image tests and their conftest: image names and the container engine CLI."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TAG = os.environ.get("IMAGE_TAG", "0.1.0")
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
