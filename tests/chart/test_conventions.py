"""Conventions of every chart: documented values and READMEs generated from them, strict schemas,
prefixed helpers, and a test file for every template folder."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from chart_helpers import (
    CHART,
    ROOT,
    values_of,
)

pytestmark = pytest.mark.chart


CHARTS = [CHART, *sorted(p for p in CHART.glob("charts/*") if (p / "Chart.yaml").is_file())]
# Library charts (aws-env) have no values of their own, hence no schema.
APPLICATION_CHARTS = [p for p in CHARTS if yaml.safe_load((p / "Chart.yaml").read_text()).get("type") != "library"]
VALUES_FILES = [CHART / "values.yaml", *sorted(CHART.glob("charts/*/values.yaml")), *sorted(CHART.glob("ci/*.yaml"))]


@pytest.mark.parametrize("path", VALUES_FILES, ids=[str(p.relative_to(CHART)) for p in VALUES_FILES])
def test_every_value_documented(path: Path) -> None:
    """helm-docs style: each leaf key has a `# --` comment on itself or an enclosing key."""
    lines = path.read_text().splitlines()
    stack: list[tuple[int, bool]] = []  # (indent, documented) of enclosing keys
    undocumented: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("- ") or ":" not in stripped:
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#") and not lines[j].strip().startswith("# --"):
            j -= 1
        documented = j >= 0 and lines[j].strip().startswith("# --")
        key, _, rest = stripped.partition(":")
        nxt = next((ln for ln in lines[i + 1 :] if ln.strip() and not ln.strip().startswith("#")), "")
        is_leaf = rest.strip() != "" or len(nxt) - len(nxt.lstrip()) <= indent
        covered = documented or any(d for _, d in stack)
        if is_leaf and not covered:
            undocumented.append(f"line {i + 1}: {key}")
        stack.append((indent, documented))
    assert not undocumented, f"{path.name}: values without '# --': {undocumented}"


@pytest.mark.parametrize("chart_dir", APPLICATION_CHARTS, ids=lambda p: p.name)
def test_values_schema_is_strict(chart_dir: Path) -> None:
    schema = json.loads((chart_dir / "values.schema.json").read_text())
    assert schema["additionalProperties"] is False
    defaults = values_of(chart_dir / "values.yaml")
    assert set(defaults) <= set(schema["properties"])


@pytest.mark.parametrize("chart_dir", CHARTS, ids=lambda p: p.name)
def test_helpers_prefixed_with_chart_name(chart_dir: Path) -> None:
    name = yaml.safe_load((chart_dir / "Chart.yaml").read_text())["name"]
    for tpl in (chart_dir / "templates").rglob("*.tpl"):
        for line in tpl.read_text().splitlines():
            if "define " in line:
                defined = line.split('"')[1]
                assert defined.startswith(f"{name}."), f"{tpl.name}: helper {defined} not prefixed with {name}."


@pytest.mark.parametrize("chart_dir", CHARTS, ids=lambda p: p.name)
def test_every_template_folder_has_its_test_file(chart_dir: Path) -> None:
    """The test of `charts/.../<chart>/templates/<component>/` is `tests/chart/<chart>/test_<chart>_<component>.py`."""
    chart = chart_dir.name
    for folder in sorted(p for p in (chart_dir / "templates").iterdir() if p.is_dir() and p.name != "tests"):
        test_file = Path(__file__).parent / chart / f"test_{chart.replace('-', '_')}_{folder.name}.py"
        assert test_file.is_file(), f"{folder.relative_to(ROOT)}: no {test_file.relative_to(ROOT)}"


def test_readmes_are_generated_from_the_values(tmp_path: Path) -> None:
    """Every chart's README.md is what `make chart-docs` (helm-docs) writes from values.yaml and
    README.md.gotmpl: regenerate them in a copy of charts/ and compare. Builds the pinned helm-docs
    on first use (Go, seconds with a warm module cache)."""
    copy = tmp_path / "charts"
    shutil.copytree(ROOT / "charts", copy, symlinks=True)
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "chart-docs.sh"), str(copy)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"scripts/chart-docs.sh failed:\n{result.stdout}{result.stderr}"
    generated = sorted(p.relative_to(copy) for p in copy.rglob("README.md"))
    assert {CHART.relative_to(ROOT / "charts") / "README.md"} < set(generated)
    stale = [
        str(path)
        for path in generated
        if not (ROOT / "charts" / path).is_file() or (ROOT / "charts" / path).read_text() != (copy / path).read_text()
    ]
    assert not stale, f"run `make chart-docs` and commit the result: stale {stale}"
