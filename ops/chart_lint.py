"""``make chart-lint``: kube-score and checkov on every render of the chart, nothing unexplained left.

    python -m ops.chart_lint [--helm .tools/bin/helm]

Renders the umbrella chart (``helm template``) with its defaults and with each values file under
``charts/article-pipeline/ci/``, and runs on each render:

* kube-score v1.20.0 (``scripts/lint/install-kube-score.sh``): ``score -o json``; a finding is a
  check graded below OK and not ignored by the object's ``kube-score/ignore`` annotation;
* checkov 3.3.30 (``scripts/lint/install-checkov.sh``): ``--framework kubernetes`` on the rendered
  file (the helm framework would render the defaults only); a finding is a failed check that the
  object's ``checkov.io/skip<N>: <check>=<reason>`` annotation does not skip.

Checks that cannot apply are skipped in ``scripts/lint/skips.yaml``, one reason each: for every
object, or for the objects it names. Exits 1 and lists the findings when there are any. The chart tier
(``tests/chart/test_chart_lint.py``) runs the same functions. Neither tool sees the Spark driver and
executor pods: the Spark Operator builds them from the SparkApplication, a custom resource.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "article-pipeline"
SKIPS = ROOT / "scripts" / "lint" / "skips.yaml"
RELEASE = "article-pipeline"
NAMESPACE = "article-pipeline"
KUBERNETES_VERSION = "1.34.0"  # the kind node (kind-config.yaml): v1.34.x
KUBE_SCORE_OK = 10  # kube-score's GradeAllOK; 7 is "almost OK", 5 a warning, 1 critical
KUBE_SCORE_IGNORE = "kube-score/ignore"
CHECKOV_SKIP = re.compile(r"^(checkov|bridgecrew)\.io/skip\d*$")


@dataclass(frozen=True)
class Finding:
    """One check an object fails, as a line of the report."""

    tool: str
    check: str
    obj: str
    message: str

    def __str__(self) -> str:
        return f"{self.tool} {self.check} {self.obj}: {self.message}"


@dataclass(frozen=True)
class Suppression:
    """One check an object's annotation turns off, and the reason written next to it."""

    tool: str
    check: str
    obj: str
    reason: str


def renders() -> list[tuple[str, Path | None]]:
    """(name, values file) of every render the linters check: the defaults, then each ci/ file."""
    return [("defaults", None), *((p.name, p) for p in sorted((CHART / "ci").glob("*.yaml")))]


def render(helm: Path, values: Path | None) -> str:
    """``helm template`` of the umbrella chart as text (comments kept: they carry kube-score's reasons)."""
    args = [str(helm), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    args += ["--kube-version", KUBERNETES_VERSION, *(["-f", str(values)] if values else [])]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"helm template failed:\n{result.stderr}")
    return result.stdout


def install(tool: str) -> Path:
    """Path of the pinned tool, built or installed into ~/.cache/article-pipeline on first use."""
    script = ROOT / "scripts" / "lint" / f"install-{tool}.sh"
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{script.relative_to(ROOT)} failed:\n{result.stdout}{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class Skip:
    """A check skipped in scripts/lint/skips.yaml: for every object, or for the objects named."""

    reason: str
    objects: tuple[str, ...] = ()


def config_skips() -> dict[str, dict[str, Skip]]:
    """{tool: {check: Skip}} of scripts/lint/skips.yaml (a check maps to its reason, or to
    ``{reason: ..., objects: [<Kind>/<name>, ...]}``)."""
    data: dict[str, dict[str, Any] | None] = yaml.safe_load(SKIPS.read_text()) or {}
    skips: dict[str, dict[str, Skip]] = {}
    for tool, checks in data.items():
        skips[tool] = {}
        for check, entry in (checks or {}).items():
            if isinstance(entry, dict):
                skips[tool][check] = Skip(str(entry.get("reason") or ""), tuple(entry.get("objects") or ()))
            else:
                skips[tool][check] = Skip(str(entry or ""))
    return skips


def whole_checks(skips: dict[str, Skip]) -> list[str]:
    """The checks skipped for every object (passed to the tool itself)."""
    return sorted(check for check, skip in skips.items() if not skip.objects)


def unskipped(findings: list[Finding], skips: dict[str, Skip]) -> list[Finding]:
    """The findings left once the checks skipped for named objects are dropped."""
    return [f for f in findings if f.check not in skips or f.obj not in skips[f.check].objects]


def kube_score(binary: Path, manifest: Path, ignore: list[str]) -> list[Finding]:
    """kube-score's findings on a rendered file (checks below OK, annotations honoured)."""
    args = [str(binary), "score", "--output-format", "json", "--kubernetes-version", "v1.34"]
    args += [f"--ignore-test={check}" for check in ignore]
    result = subprocess.run([*args, str(manifest)], capture_output=True, text=True, timeout=300, check=False)
    try:
        scored: list[dict[str, Any]] = json.loads(result.stdout)
    except json.JSONDecodeError as e:
        raise RuntimeError(f"kube-score failed (exit {result.returncode}):\n{result.stderr}") from e
    findings = []
    for obj in scored:
        name = f"{obj['type_meta']['kind']}/{obj['object_meta']['name']}"
        for check in obj["checks"]:
            if check["skipped"] or check["grade"] >= KUBE_SCORE_OK:
                continue
            comments = "; ".join(
                f"({c['path']}) {c['summary']}" if c["path"] else c["summary"] for c in check["comments"] or []
            )
            findings.append(Finding("kube-score", check["check"]["id"], name, comments or check["check"]["name"]))
    return findings


def checkov(binary: Path, manifest: Path, skip: list[str]) -> list[Finding]:
    """checkov's failed checks on a rendered file (its kubernetes framework, annotations honoured)."""
    args = [str(binary), "--framework", "kubernetes", "--file", str(manifest), "--output", "json", "--compact"]
    # --skip-download: no call to Prisma Cloud for guidelines; the checks ship in the package
    args += ["--skip-download", *(["--skip-check", ",".join(skip)] if skip else [])]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False, cwd=manifest.parent)
    try:
        reports: Any = json.loads(result.stdout)
    except json.JSONDecodeError as e:
        raise RuntimeError(f"checkov failed (exit {result.returncode}):\n{result.stderr[-4000:]}") from e
    findings = []
    for report in reports if isinstance(reports, list) else [reports]:
        if report.get("summary", {}).get("parsing_errors"):
            raise RuntimeError(f"checkov could not parse {manifest}: {report['results']['parsing_errors']}")
        for failed in report.get("results", {}).get("failed_checks", []):
            # "<kind>.<namespace>.<name>" (graph checks append the pod's labels to the name)
            kind, _, rest = failed["resource"].partition(".")
            name = rest.partition(".")[2]
            findings.append(Finding("checkov", failed["check_id"], f"{kind}/{name}", failed["check_name"]))
    return findings


def lint(helm: Path, kube_score_bin: Path, checkov_bin: Path, values: Path | None, workdir: Path) -> list[Finding]:
    """Every unsuppressed finding of both tools on one render."""
    skips = config_skips()
    kube_score_skips, checkov_skips = skips.get("kube-score", {}), skips.get("checkov", {})
    manifest = workdir / f"{values.stem if values else 'defaults'}.yaml"
    manifest.write_text(render(helm, values))
    return [
        *unskipped(kube_score(kube_score_bin, manifest, whole_checks(kube_score_skips)), kube_score_skips),
        *unskipped(checkov(checkov_bin, manifest, whole_checks(checkov_skips)), checkov_skips),
    ]


def suppressions(rendered: str) -> list[Suppression]:
    """Every annotation of a render that turns a check off, with its reason.

    checkov's reason is the annotation's own value (``checkov.io/skip1: CKV_K8S_15=<reason>``);
    kube-score's annotation (``kube-score/ignore: <check>,<check>``) has no room for one, so each
    check has a comment line ``# kube-score/ignore <check>: <reason>`` in the comment block right
    above it. A missing reason is returned as an empty one.
    """
    found: list[Suppression] = []
    for chunk in re.split(r"(?m)^---\s*$", rendered):
        obj = yaml.safe_load(chunk)
        if not isinstance(obj, dict):
            continue
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        annotations: dict[str, str] = obj["metadata"].get("annotations") or {}
        for key, value in annotations.items():
            if CHECKOV_SKIP.match(key):
                check, _, reason = str(value).partition("=")
                found.append(Suppression("checkov", check.strip(), name, reason.strip()))
        if KUBE_SCORE_IGNORE in annotations:
            reasons = kube_score_reasons(chunk)
            for check in (c.strip() for c in annotations[KUBE_SCORE_IGNORE].split(",")):
                found.append(Suppression("kube-score", check, name, reasons.get(check, "")))
    return found


def kube_score_reasons(chunk: str) -> dict[str, str]:
    """{check: reason} from the comments right above an object's ``kube-score/ignore`` line."""
    lines = chunk.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{KUBE_SCORE_IGNORE}:"))
    reasons: dict[str, str] = {}
    i = at - 1
    while i >= 0 and lines[i].strip().startswith("#"):
        text = lines[i].strip().lstrip("#").strip()
        match = re.match(rf"{re.escape(KUBE_SCORE_IGNORE)} ([a-z0-9-]+):(.*)$", text)
        if match:
            reasons[match.group(1)] = match.group(2).strip()
        i -= 1
    return reasons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--helm", type=Path, default=ROOT / ".tools" / "bin" / "helm")
    args = parser.parse_args(argv)
    kube_score_bin, checkov_bin = install("kube-score"), install("checkov")
    workdir = ROOT / ".tools" / "chart-lint"
    workdir.mkdir(parents=True, exist_ok=True)
    failed = 0
    for name, values in renders():
        findings = lint(args.helm, kube_score_bin, checkov_bin, values, workdir)
        failed += len(findings)
        print(f"{name}: {len(findings)} finding(s)")
        for finding in findings:
            print(f"  {finding}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
