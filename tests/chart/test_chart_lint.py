"""kube-score and checkov on the defaults and every ci/ values file: no finding left without a written
reason (ops/chart_lint.py, `make chart-lint`; the suppressions are listed in docs/kubernetes.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from chart_helpers import ROOT, Helm, template_text

from ops import chart_lint

pytestmark = pytest.mark.chart

RENDERS = chart_lint.renders()
IDS = [name for name, _ in RENDERS]
CHECK_ID = {"checkov": re.compile(r"^CKV2?_K8S_\d+$"), "kube-score": re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")}


def installed(tool: str) -> Path:
    try:
        return chart_lint.install(tool)
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def kube_score_bin() -> Path:
    """kube-score v1.20.0, built from the Go module proxy on first use (scripts/lint/install-kube-score.sh)."""
    return installed("kube-score")


@pytest.fixture(scope="session")
def checkov_bin() -> Path:
    """checkov 3.3.30 in its own venv, installed on first use (scripts/lint/install-checkov.sh)."""
    return installed("checkov")


def rendered_text(run_helm: Helm, values: Path | None) -> str:
    return template_text(run_helm, *(["-f", str(values)] if values else []))


@pytest.mark.parametrize(("name", "values"), RENDERS, ids=IDS)
def test_no_unsuppressed_findings(
    helm: Path, kube_score_bin: Path, checkov_bin: Path, tmp_path: Path, name: str, values: Path | None
) -> None:
    findings = chart_lint.lint(helm, kube_score_bin, checkov_bin, values, tmp_path)
    listed = "\n  ".join(str(f) for f in findings)
    assert not findings, (
        f"{name}: {len(findings)} finding(s); fix them, or suppress one on its object with the reason next "
        f"to it (docs/kubernetes.md, 'Linters'):\n  {listed}"
    )


@pytest.mark.parametrize(("name", "values"), RENDERS, ids=IDS)
def test_every_suppression_has_a_reason(run_helm: Helm, name: str, values: Path | None) -> None:
    text = rendered_text(run_helm, values)
    found = chart_lint.suppressions(text)
    problems = [
        f"{s.tool} {s.check} on {s.obj}: "
        + ("no reason" if not s.reason else "the reason holds '=' (checkov splits on it)" if "=" in s.reason else "")
        for s in found
        if not s.reason or (s.tool == "checkov" and "=" in s.reason)
    ]
    problems += [
        f"{s.tool}: '{s.check}' on {s.obj} is no check id" for s in found if not CHECK_ID[s.tool].match(s.check)
    ]
    # a reason comment whose check the annotation no longer ignores is stale
    for chunk in re.split(r"(?m)^---\s*$", text):
        if f"{chart_lint.KUBE_SCORE_IGNORE}:" in chunk:
            ignored = {s.check for s in chart_lint.suppressions(chunk) if s.tool == "kube-score"}
            problems += [
                f"kube-score: a reason for {c}, which is not ignored"
                for c in chart_lint.kube_score_reasons(chunk)
                if c not in ignored
            ]
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


def test_config_skips_have_reasons() -> None:
    skips = chart_lint.config_skips()
    assert set(skips) <= {"kube-score", "checkov"}
    for tool, checks in skips.items():
        for check, skip in checks.items():
            assert CHECK_ID[tool].match(check), f"{tool}: {check} is no check id"
            assert skip.reason.strip(), f"scripts/lint/skips.yaml: {tool} {check} has no reason"
            for obj in skip.objects:
                assert re.fullmatch(r"[A-Za-z]+/[a-z0-9.-]+", obj), f"{tool} {check}: '{obj}' is no <Kind>/<name>"


def test_docs_list_every_suppression(run_helm: Helm) -> None:
    """docs/kubernetes.md's "Linters" table names every suppressed check and every skip of skips.yaml."""
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    section = docs.partition("## Linters")[2].partition("\n## ")[0]
    assert section, "docs/kubernetes.md has no '## Linters' section"
    checks = {s.check for _, values in RENDERS for s in chart_lint.suppressions(rendered_text(run_helm, values))}
    checks |= {check for tool_checks in chart_lint.config_skips().values() for check in tool_checks}
    missing = sorted(c for c in checks if f"`{c}`" not in section)
    assert not missing, f"docs/kubernetes.md, 'Linters': no row for {missing}"


def test_a_violation_is_found(helm: Path, kube_score_bin: Path, checkov_bin: Path, tmp_path: Path) -> None:
    """The linters see the rendered objects: the publisher with a writable root filesystem fails both."""
    manifest = tmp_path / "violation.yaml"
    text = chart_lint.render(helm, None)
    assert "readOnlyRootFilesystem: true" in text
    manifest.write_text(text.replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"))
    skips = chart_lint.config_skips()
    kube_score = chart_lint.kube_score(kube_score_bin, manifest, chart_lint.whole_checks(skips["kube-score"]))
    checkov = chart_lint.checkov(checkov_bin, manifest, chart_lint.whole_checks(skips["checkov"]))
    publisher = f"Deployment/{chart_lint.RELEASE}-publisher"
    assert ("container-security-context-readonlyrootfilesystem", publisher) in {(f.check, f.obj) for f in kube_score}
    assert ("CKV_K8S_22", publisher) in {(f.check, f.obj) for f in checkov}
