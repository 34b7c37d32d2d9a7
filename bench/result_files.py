"""The JSON result files in the results directory: one ``<name>.json`` document per benchmark."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.machine import machine
from bench.progress import log


def document(name: str, config: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """A result file's content: the result with its name, time, machine and configuration."""
    return {
        "name": name,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "config": config,
        "result": result,
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON to ``path`` (its directory created), and say so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    log(f"wrote {path}")


def load_result(results: Path, name: str) -> dict[str, Any] | None:
    """``<results>/<name>.json``, or None when that benchmark has no result there."""
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def all_results(results: Path) -> dict[str, dict[str, Any]]:
    """Every ``<name>.json`` in ``results``, by name, in name order."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(results.glob("*.json"))}
