"""The supply chain is locked: uv.lock is current, its check says what to run, Actions are pinned."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ops import lockcheck

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
UV = REPO / ".venv" / "bin" / "uv"


def test_a_current_lock_passes_silently():
    assert lockcheck.verdict(0, "Resolved 116 packages in 4ms") is None


def test_a_stale_lock_names_the_command_to_run_and_keeps_uvs_words():
    message = lockcheck.verdict(1, "error: No solution found when resolving dependencies\n")
    assert message is not None
    assert "uv.lock is out of date with pyproject.toml" in message
    assert "run `make lock`" in message
    assert "No solution found" in message and "(exit 1)" in message


def test_the_check_is_offline_and_never_rewrites_the_lock():
    assert lockcheck.check_command("uv") == ["uv", "lock", "--check", "--offline"]


def test_the_lock_is_current_with_pyproject():
    """What `make lock-check` runs; fails when pyproject.toml changed without `make lock`."""
    assert (REPO / "uv.lock").is_file(), "no uv.lock: run `make lock`"
    if not UV.exists():
        pytest.skip(f"{UV} missing: `make venv` installs it from requirements-bootstrap.txt")
    proc = subprocess.run(
        [str(UV), "lock", "--check", "--offline"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert lockcheck.verdict(proc.returncode, proc.stdout + proc.stderr) is None, proc.stderr


def test_the_lock_holds_every_direct_pin_of_pyproject():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    locked = {(p["name"], p["version"]) for p in tomllib.loads((REPO / "uv.lock").read_text())["package"]}
    pins = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    for pin in pins:
        if pin.startswith("article-pipeline"):
            continue
        name, version = re.sub(r"\[.*\]", "", pin).split("==")
        assert (name.lower(), version) in locked, f"{pin} is not in uv.lock: run `make lock`"


def test_the_bootstrap_installs_only_hashed_exact_pins():
    text = (REPO / "requirements-bootstrap.txt").read_text()
    requirements = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert {line.split("==")[0] for line in requirements} >= {"uv", "pip", "setuptools", "wheel"}
    for line in requirements:
        assert re.fullmatch(r"[a-z0-9-]+==[0-9.]+ \\", line), line
    hashed = re.findall(r"^[a-z0-9-]+==\S+ \\\n(?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+", text, re.M)
    assert len(hashed) == len(requirements), "every requirement carries --hash=sha256 lines"


def _uses() -> list[tuple[Path, str]]:
    found = []
    for workflow in sorted((REPO / ".github" / "workflows").glob("*.y*ml")):
        for line in workflow.read_text().splitlines():
            match = re.match(r"\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if match:
                found.append((workflow, line.strip()))
    return found


def test_every_github_action_is_pinned_to_a_commit_sha_with_its_version_in_a_comment():
    uses = _uses()
    assert uses, "no `uses:` found in .github/workflows"
    for workflow, line in uses:
        match = re.match(r"(?:-\s+)?uses:\s*([^@\s]+)@(\S+)\s*(.*)$", line)
        assert match, f"{workflow.name}: {line}"
        action, ref, comment = match.groups()
        if action.startswith(("./", "docker://")):
            continue
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{workflow.name}: {action}@{ref} is not pinned to a commit SHA"
        assert re.fullmatch(r"#\s*v\d+(\.\d+)*", comment), f"{workflow.name}: {line}: no `# vX.Y.Z` comment"
