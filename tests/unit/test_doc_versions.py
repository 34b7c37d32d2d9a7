"""Docs and code comments name the Spark that pyproject.toml pins, and no other.

Every ``*.md`` of the repository and the docstrings and comments of the Python packages are
scanned for "pyspark X.Y[.Z]", "PySpark X.Y" and "Spark X.Y" (also ``pyspark==X.Y.Z`` and
``pyspark-X.Y.Z``); each must be the pinned version (``4.2`` or ``4.2.0`` for a pin of 4.2.0).
Other projects' versions stay out of scope: "delta-spark 4.0", "Spark Operator 2.5.2" and
"spark-kubernetes_2.13" do not match. A doc that must name another Spark goes in ``ALLOWED``.
"""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_testing import REPO, pinned_pyspark

pytestmark = pytest.mark.unit

# "Spark" or "pyspark" as a word of its own (not "delta-spark", not "spark-operator"), then a
# version after a space, "==" or "-" (a file name such as pyspark-4.2.0.tar.gz).
SPARK_VERSION = re.compile(r"(?<![\w.-])((?:py)?spark(?:\s+|==|-)v?(\d+\.\d+(?:\.\d+)?))(?![\d])", re.IGNORECASE)
# Tool caches and installed packages: not the project's docs.
SKIPPED_DIRS = {".git", ".venv", "node_modules", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".tools"}
PYTHON_PACKAGES = ("jobs", "common", "bench", "ops")

# (file, mention as written): docs that must name a Spark other than the pinned one.
ALLOWED = {
    # The upstream Spark Operator image's own Spark (apache/spark:4.0.4 in its Dockerfile), which
    # the project's operator image replaces with the pinned one.
    ("images/spark-operator/README.md", "Spark 4.0"),
}


def markdown_files() -> Iterator[Path]:
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        yield from (Path(folder) / name for name in sorted(files) if name.endswith(".md"))


def markdown_lines(path: Path) -> Iterator[tuple[int, str]]:
    yield from enumerate(path.read_text(encoding="utf-8").splitlines(), 1)


def python_prose(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every comment and docstring of a Python file."""
    source = path.read_text(encoding="utf-8")
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            docstring = (
                first.value.value if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) else None
            )
            if isinstance(docstring, str):
                for offset, line in enumerate(docstring.splitlines()):
                    yield first.lineno + offset, line


def mentions() -> Iterator[tuple[str, int, str, str]]:
    """(file relative to the repository, line, mention, version) of every Spark version named."""
    sources = [(path, markdown_lines) for path in markdown_files()]
    sources += [(path, python_prose) for package in PYTHON_PACKAGES for path in sorted((REPO / package).rglob("*.py"))]
    for path, lines in sources:
        relative = path.relative_to(REPO).as_posix()
        for number, text in lines(path):
            for match in SPARK_VERSION.finditer(text):
                yield relative, number, match.group(1), match.group(2)


def matches_pin(version: str, pinned: str) -> bool:
    """``4.2`` and ``4.2.0`` match a pin of 4.2.0; ``4.3`` and ``4.2.1`` do not."""
    return pinned.split(".")[: len(version.split("."))] == version.split(".")


def test_docs_name_the_pinned_spark() -> None:
    pinned = pinned_pyspark()
    wrong = [
        f"{path}:{line}: {mention!r}"
        for path, line, mention, version in mentions()
        if not matches_pin(version, pinned) and (path, mention) not in ALLOWED
    ]
    assert not wrong, f"pyproject.toml pins pyspark {pinned}; these name another Spark version:\n" + "\n".join(wrong)


def test_allowed_mentions_still_exist() -> None:
    found = {(path, mention) for path, _, mention, _ in mentions()}
    assert found >= ALLOWED, f"ALLOWED entries no longer in the docs (remove them): {sorted(ALLOWED - found)}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("runs on PySpark 4.2 and pyspark==4.2.0", ["4.2", "4.2.0"]),
        ("Spark 4.3 creates one map", ["4.3"]),
        ("cache/pyspark-4.2.0.tar.gz", ["4.2.0"]),
        ("delta-spark 4.0, Spark Operator 2.5.2, delta-spark_4.2_2.13, spark-kubernetes_2.13-4.2.0.jar", []),
        ("Kubernetes 1.33, kind v0.30.0, Scala 2.13", []),
    ],
)
def test_only_spark_versions_count(text: str, expected: list[str]) -> None:
    assert [match.group(2) for match in SPARK_VERSION.finditer(text)] == expected
