"""Where the repository is: the job script, the default results directory, Spark's Python path."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def python_path_with_repo() -> str:
    """``PYTHONPATH`` with the repository first, so Spark's Python workers import ``jobs`` and ``bench``."""
    return os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
