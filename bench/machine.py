"""The machine a benchmark ran on: stated next to every figure."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """Cores, CPU model, load and versions: stated next to every figure."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for package in ("pyspark", "pyarrow", "boto3", "moto"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "load_avg_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "versions": versions,
        "emulator": f"moto_server {versions.get('moto')} (Kinesis + S3, 127.0.0.1)",
    }
