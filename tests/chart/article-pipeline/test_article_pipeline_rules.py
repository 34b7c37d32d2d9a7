"""The PrometheusRule's alerts tested like code, with promtool (Prometheus 3.16.0, built from the Go
module proxy, pinned: scripts/lint/install-promtool.sh). The rules are rendered here from the chart
(`--api-versions monitoring.coreos.com/v1/PrometheusRule`) and their `spec` written as a plain rules
file: `promtool check rules` passes on every render, and `promtool test rules` runs the unit tests of
tests/chart/rules/ against the defaults' render, each alert made to fire with its labels and
annotations and kept quiet in a healthy case. Without promtool and without Go to build it, skipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_helpers import CHART, CI_VALUES, RELEASE, Render, one

from ops import chart_lint

pytestmark = pytest.mark.chart

PROMETHEUS_RULE = "monitoring.coreos.com/v1/PrometheusRule"
RULES = f"{RELEASE}-alerts"
RULE_FILE = "alerts.yaml"  # the name the unit tests' `rule_files` give
UNIT_TESTS = sorted((Path(__file__).parents[1] / "rules").glob("*.yaml"))
RENDERS: list[Path | None] = [None, *CI_VALUES]


def go_found() -> bool:
    return shutil.which("go") is not None or os.access("/usr/local/go/bin/go", os.X_OK)


@pytest.fixture(scope="session")
def promtool() -> Path:
    """promtool v0.316.0 (3.16.0), built into ~/.cache/article-pipeline/bin on first use."""
    try:
        return chart_lint.install("promtool")
    except RuntimeError as e:
        if not go_found():
            pytest.skip(f"promtool is not built and Go is missing to build it: {e}")
        pytest.fail(str(e))


def spec(render: Render, *values: Path, sets: tuple[str, ...] = ()) -> dict[str, Any]:
    """The `spec` (`groups:`) of the rendered PrometheusRule: a Prometheus rules file."""
    rule: dict[str, Any] = one(render(*values, sets=sets, api_versions=(PROMETHEUS_RULE,)), "PrometheusRule", RULES)
    return dict(rule["spec"])


def write_rules(groups: dict[str, Any], directory: Path) -> Path:
    path = directory / RULE_FILE
    path.write_text(yaml.safe_dump(groups, sort_keys=False, width=10_000))
    return path


def run_promtool(promtool: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(promtool), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def alert_names(groups: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for group in groups["groups"] for r in group["rules"]}


@pytest.fixture(scope="module")
def default_spec(render: Render) -> dict[str, Any]:
    return spec(render)


@pytest.mark.parametrize("values", RENDERS, ids=lambda p: p.name if p else "defaults")
def test_check_rules(promtool: Path, render: Render, tmp_path: Path, values: Path | None) -> None:
    groups = spec(render, *([values] if values else []))
    path = write_rules(groups, tmp_path)
    result = run_promtool(promtool, "check", "rules", "--lint=all", "--lint-fatal", path.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_names(groups))} rules found" in result.stdout, result.stdout


def test_check_rules_refuses_bad_promql(promtool: Path, tmp_path: Path) -> None:
    """promtool parses the expressions (a guard against a check that checks nothing)."""
    bad = {"groups": [{"name": "x", "rules": [{"alert": "X", "expr": "rate(up[5m]", "for": "1m"}]}]}
    result = run_promtool(promtool, "check", "rules", write_rules(bad, tmp_path).name, cwd=tmp_path)
    assert result.returncode != 0 and "unclosed left parenthesis" in result.stdout + result.stderr


def test_the_ci_renders_have_the_tested_rules(render: Render, default_spec: dict[str, Any]) -> None:
    """The unit tests run against the defaults' rules: no ci/ values file changes them (one that does
    needs unit tests of its own render)."""
    for values in CI_VALUES:
        assert spec(render, values) == default_spec, f"{values.name} changes the rules: give it unit tests"


@pytest.mark.parametrize("unit_tests", UNIT_TESTS, ids=lambda p: p.stem)
def test_rules_unit_tests(promtool: Path, default_spec: dict[str, Any], tmp_path: Path, unit_tests: Path) -> None:
    write_rules(default_spec, tmp_path)
    shutil.copy(unit_tests, tmp_path / unit_tests.name)
    result = run_promtool(promtool, "test", "rules", unit_tests.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout, result.stdout


def test_unit_tests_fail_on_a_changed_threshold(promtool: Path, render: Render, tmp_path: Path) -> None:
    """The same unit tests against rules with a 2-minute lag threshold: the 90 s lag fires no more."""
    write_rules(spec(render, sets=("monitoring.rules.kinesisLag.thresholdSeconds=120",)), tmp_path)
    unit_tests = next(p for p in UNIT_TESTS if p.stem == "kinesis_lag")
    shutil.copy(unit_tests, tmp_path / unit_tests.name)
    result = run_promtool(promtool, "test", "rules", unit_tests.name, cwd=tmp_path)
    assert result.returncode != 0, result.stdout
    assert "ArticlePipelineKinesisLagHigh" in result.stdout + result.stderr


def test_every_alert_fires_and_stays_quiet(default_spec: dict[str, Any]) -> None:
    """Over tests/chart/rules/, each alert fires at least once with its severity, summary, description
    and runbook_url, and is expected quiet at least once; every file tests the rendered rules."""
    rules = alert_names(default_spec)
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in UNIT_TESTS:
        doc = yaml.safe_load(path.read_text())
        assert doc["rule_files"] == [RULE_FILE], f"{path.name}: rule_files must be [{RULE_FILE}]"
        for group in doc["tests"]:
            for case in group.get("alert_rule_test", []):
                name = case["alertname"]
                assert name in rules, f"{path.name}: no alert {name} in the chart"
                if not case.get("exp_alerts"):
                    quiet.add(name)
                    continue
                for alert in case["exp_alerts"]:
                    assert alert["exp_labels"]["severity"] == rules[name]["labels"]["severity"], f"{path.name}"
                    assert set(alert["exp_annotations"]) == {"summary", "description", "runbook_url"}, path.name
                fired.add(name)
    assert fired == set(rules), f"never made to fire: {sorted(set(rules) - fired)}"
    assert quiet == set(rules), f"never expected quiet: {sorted(set(rules) - quiet)}"


def test_docs_say_how_the_rules_are_tested() -> None:
    docs = (CHART.parents[1] / "docs" / "operations.md").read_text()
    section = docs.partition("\n## Alerts\n")[2].partition("\n### ")[0]
    assert "promtool" in section and "tests/chart/rules/" in section


def test_the_rules_configmap_is_the_prometheusrule_as_a_rules_file(
    render: Render, default_spec: dict[str, Any]
) -> None:
    """`monitoring.rules.configMap.enabled`: the same groups as a plain rules file for a Prometheus
    without the Operator (no CRD needed); off by default, and off with the alerts."""
    name = f"{RELEASE}-alert-rules"
    assert not [o for o in render() if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name]
    rules = one(render(sets=("monitoring.rules.configMap.enabled=true",)), "ConfigMap", name)
    assert yaml.safe_load(rules["data"]["article-pipeline-alerts.yaml"]) == default_spec
    renamed = one(
        render(sets=("monitoring.rules.configMap.enabled=true", "monitoring.rules.configMap.key=pipeline.yaml")),
        "ConfigMap",
        name,
    )
    assert list(renamed["data"]) == ["pipeline.yaml"]
    off = render(sets=("monitoring.rules.configMap.enabled=true", "monitoring.rules.enabled=false"))
    assert not [o for o in off if o["kind"] == "ConfigMap" and o["metadata"]["name"] == name]


def test_the_kind_values_ship_the_rules_file_make_prometheus_loads(render: Render) -> None:
    kind = next(p for p in CI_VALUES if p.name == "kind-values.yaml")
    """scripts/kind/prometheus.sh copies `<release>-alert-rules` into the kind cluster's Prometheus."""
    one(render(kind), "ConfigMap", f"{RELEASE}-alert-rules")
