"""uv.lock is current with pyproject.toml, or say which command makes it so.

    python -m ops.lockcheck [--uv .venv/bin/uv]      # what `make lock-check` and `make venv` run

Runs ``uv lock --check --offline``: a current lock is confirmed from the lock alone (no
network, milliseconds); a lock that no longer matches pyproject.toml fails with a message that
names the command to run, ``make lock``. Standard library only: it runs before the lock is
installed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

FIX = "make lock"


def check_command(uv: str) -> list[str]:
    """The check: offline, so it needs nothing but the lock and pyproject.toml."""
    return [uv, "lock", "--check", "--offline"]


def verdict(returncode: int, output: str) -> str | None:
    """None when the lock is current; else the message to print (uv's own words follow it)."""
    if returncode == 0:
        return None
    detail = output.strip()
    lines = [
        f"uv.lock is out of date with pyproject.toml: run `{FIX}` (uv lock) and commit uv.lock.",
        "Every install (make venv, the images, CI) installs uv.lock, never pyproject.toml directly.",
    ]
    if detail:
        lines += ["", f"`uv lock --check --offline` said (exit {returncode}):", detail]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uv", default=".venv/bin/uv", help="the uv executable (default: %(default)s)")
    args = parser.parse_args(argv)
    proc = subprocess.run(check_command(args.uv), capture_output=True, text=True, check=False)
    message = verdict(proc.returncode, proc.stdout + proc.stderr)
    if message is None:
        return 0
    print(message, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
