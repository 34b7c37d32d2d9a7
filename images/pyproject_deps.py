"""Print the pinned requirements of one deployable from pyproject.toml, one per line.

Used inside image builds so dependencies install in their own (cached) layer before the
project's source is copied; each image installs the core dependencies plus its own extra:

    python3 pyproject_deps.py pyproject.toml --extra job

Fails if a requirement is not pinned with '==' (images must be reproducible).
"""

import argparse
import sys

import tomllib


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("pyproject")
    parser.add_argument("--extra", required=True, help="the optional-dependencies group of the deployable")
    args = parser.parse_args()
    with open(args.pyproject, "rb") as file:
        project = tomllib.load(file)["project"]
    extras = project["optional-dependencies"]
    if args.extra not in extras:
        print(f"no extra {args.extra!r} in {args.pyproject}; have {', '.join(extras)}", file=sys.stderr)
        return 1
    requirements = [*project["dependencies"], *extras[args.extra]]
    unpinned = [requirement for requirement in requirements if "==" not in requirement]
    if unpinned:
        print(f"unpinned requirements in {args.pyproject}: {unpinned}", file=sys.stderr)
        return 1
    print("\n".join(requirements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
