"""Print the project's pinned runtime dependencies from pyproject.toml, one per line.

Used inside image builds so dependencies install in their own (cached) layer before the
project's source is copied, and so an image can leave out what it never imports:

    python3 pyproject_deps.py pyproject.toml --exclude pyspark pandas pyarrow

Fails if a dependency is not pinned with '==' (images must be reproducible).
"""

import argparse
import re
import sys

import tomllib


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("pyproject")
    ap.add_argument("--exclude", nargs="*", default=[])
    args = ap.parse_args()
    with open(args.pyproject, "rb") as f:
        deps = tomllib.load(f)["project"]["dependencies"]
    excluded = {e.strip().lower().replace("_", "-") for e in args.exclude if e.strip()}
    out = []
    for dep in deps:
        name = re.split(r"[\s\[<>=!~;]", dep, maxsplit=1)[0].lower().replace("_", "-")
        if name in excluded:
            continue
        if "==" not in dep:
            print(f"unpinned dependency in {args.pyproject}: {dep!r}", file=sys.stderr)
            return 1
        out.append(dep)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
