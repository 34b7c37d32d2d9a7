"""templates/monitoring/: the PodMonitors and the PrometheusRule (only where the Prometheus Operator's
CRDs are served: rendered here with `--api-versions`), and the Grafana dashboard's ConfigMap. Each
metric the alerts and the dashboard query is one the job (jobs/job_metrics.py) or the publisher
(publisher/) defines, read from their source."""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from chart_helpers import (
    AWS_VALUES,
    CHART,
    KIND_VALUES,
    NAMESPACE,
    PUBLISHER,
    RELEASE,
    ROOT,
    SPARK_APP,
    Helm,
    Manifest,
    Render,
    by_kind,
    deployment_spec,
    named,
    one,
    spark_container,
    sparkapp,
    strict,
)

pytestmark = pytest.mark.chart

SCHEMAS = Path(__file__).parents[1] / "schemas"
POD_MONITOR = "monitoring.coreos.com/v1/PodMonitor"
PROMETHEUS_RULE = "monitoring.coreos.com/v1/PrometheusRule"
CRDS = (POD_MONITOR, PROMETHEUS_RULE)
DRIVER_MONITOR = f"{RELEASE}-spark-driver"
PUBLISHER_MONITOR = f"{RELEASE}-publisher"
RULES = f"{RELEASE}-alerts"
DASHBOARD = f"{RELEASE}-dashboard"
JOB_ALERTS = {
    "ArticlePipelineKinesisLagHigh",
    "ArticlePipelineNoBatchCompleted",
    "ArticlePipelineJobNotRunning",
    "ArticlePipelineQuarantineRateHigh",
    "ArticlePipelineWatermarkDrops",
    "ArticlePipelineOutage",
}
PUBLISHER_ALERTS = {"ArticlePipelinePublisherFailing", "ArticlePipelinePublisherErrors"}
# Prometheus' duration (model.ParseDuration), as the PrometheusRule CRD checks `for`.
DURATION = re.compile(r"^(0|([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$")


# --- the metrics the sources define, and the ones a PromQL expression names ------------------------


def _calls(path: Path) -> list[ast.Call]:
    return [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)]


def _name_of(call: ast.Call) -> str:
    return (
        call.func.id
        if isinstance(call.func, ast.Name)
        else call.func.attr
        if isinstance(call.func, ast.Attribute)
        else ""
    )


def _string_arg(call: ast.Call, index: int) -> str | None:
    if (
        len(call.args) > index
        and isinstance(call.args[index], ast.Constant)
        and isinstance(call.args[index].value, str)
    ):
        value: str = call.args[index].value
        return value
    return None


def job_metrics() -> set[str]:
    """The series names of jobs/job_metrics.py: PREFIX + the name its `_counter` (+ `_total`) and
    `_gauge` helpers are called with."""
    source = ROOT / "jobs" / "job_metrics.py"
    prefix = re.search(r'^PREFIX = "([a-z_]+)"$', source.read_text(), re.MULTILINE)
    assert prefix, "jobs/job_metrics.py: no PREFIX"
    names = set()
    for call in _calls(source):
        kind, name = _name_of(call), _string_arg(call, 1)
        if kind in ("_counter", "_gauge") and name:
            names.add(prefix.group(1) + name + ("_total" if kind == "_counter" else ""))
    return names


def publisher_metrics() -> set[str]:
    """The series names of the publisher's prometheus-client metrics (publisher/*.py)."""
    suffixes = {"Counter": ("_total",), "Gauge": ("",), "Histogram": ("_bucket", "_sum", "_count")}
    names = set()
    for source in sorted((ROOT / "publisher").glob("*.py")):
        for call in _calls(source):
            kind, name = _name_of(call), _string_arg(call, 0)
            if kind in suffixes and name:
                names |= {name + suffix for suffix in suffixes[kind]}
    return names


DEFINED = job_metrics() | publisher_metrics()
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
PROMQL_WORDS |= {"and", "or", "unless", "inf", "nan", "atan2"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, keywords, labels)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges, $__rate_interval
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        if text[match.end() :].lstrip().startswith("(") or match.group(0).lower() in PROMQL_WORDS:
            continue  # a function, or an operator
        names.add(match.group(0))
    return names


def balanced(expr: str) -> bool:
    stack: list[str] = []
    pairs = {")": "(", "}": "{", "]": "["}
    for char in re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr):
        if char in "({[":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack


def test_the_sources_define_the_metrics_read_here() -> None:
    """The parsing above finds what docs/operations.md lists (a guard against reading nothing)."""
    assert {
        "article_pipeline_kinesis_millis_behind_latest",
        "article_pipeline_kinesis_records_read_total",
        "article_pipeline_last_batch_completed_timestamp_seconds",
        "article_pipeline_quarantined_rows_total",
        "article_pipeline_outage",
        "article_pipeline_outage_endpoint",
    } <= job_metrics()
    assert {"articles_published_total", "article_records_failed_total", "put_records_seconds_bucket"} <= (
        publisher_metrics()
    )
    assert {"articles_buffered", "article_records_throttled", "publisher_http_responses_total"} <= publisher_metrics()


def test_metric_names_of_an_expression() -> None:
    expr = (
        'sum by (shard) (rate(a_total{namespace="$ns",pod=~"x-[a-z]+"}[$__rate_interval])) / on (x) b or time() - c > 1'
    )
    assert metric_names(expr) == {"a_total", "b", "c"}


# --- rendering with and without the Prometheus Operator's CRDs ---------------------------------------


def monitoring(objs: list[Manifest]) -> list[Manifest]:
    return [o for o in objs if o["apiVersion"].startswith("monitoring.coreos.com/")]


def test_no_crds_no_podmonitor_nor_rule(manifests: list[Manifest]) -> None:
    """Every ci/ render (no `--api-versions`: no Prometheus Operator) has neither, only the dashboard."""
    assert monitoring(manifests) == []
    one(manifests, "ConfigMap", DASHBOARD)


@pytest.mark.parametrize("values_file", [CHART / "values.yaml", KIND_VALUES, AWS_VALUES], ids=lambda p: p.name)
def test_with_the_crds_both_podmonitors_and_the_rule(render: Render, values_file: Path) -> None:
    objs = render(values_file, api_versions=CRDS)
    assert sorted((o["kind"], o["metadata"]["name"]) for o in monitoring(objs)) == [
        ("PodMonitor", PUBLISHER_MONITOR),
        ("PodMonitor", DRIVER_MONITOR),
        ("PrometheusRule", RULES),
    ]


@pytest.mark.parametrize(
    ("api_versions", "kinds"),
    [((POD_MONITOR,), {"PodMonitor"}), ((PROMETHEUS_RULE,), {"PrometheusRule"}), ((), set())],
    ids=["podmonitor-crd-only", "prometheusrule-crd-only", "none"],
)
def test_each_kind_needs_its_own_crd(render: Render, api_versions: tuple[str, ...], kinds: set[str]) -> None:
    assert {o["kind"] for o in monitoring(render(api_versions=api_versions))} == kinds


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (("monitoring.podMonitor.enabled=false",), {RULES}),
        (("monitoring.rules.enabled=false",), {DRIVER_MONITOR, PUBLISHER_MONITOR}),
        (("spark-job.metrics.enabled=false",), {PUBLISHER_MONITOR, RULES}),
        (("publisher.metrics.enabled=false",), {DRIVER_MONITOR, RULES}),
        (("spark-job.enabled=false",), {PUBLISHER_MONITOR, RULES}),
        (("publisher.enabled=false", "spark-job.metrics.enabled=false"), set()),
    ],
    ids=["no-podmonitor", "no-rules", "no-job-metrics", "no-publisher-metrics", "no-job", "nothing-scraped"],
)
def test_switches(render: Render, sets: tuple[str, ...], expected: set[str]) -> None:
    assert {o["metadata"]["name"] for o in monitoring(render(sets=sets, api_versions=CRDS))} == expected


def crd_validator(name: str) -> jsonschema.protocols.Validator:
    crd = next(d for d in yaml.safe_load_all((SCHEMAS / name).read_text()) if d)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    schema = strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    schema["properties"]["metadata"] = {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 63, "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
            "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}},
        },
    }
    return jsonschema.Draft7Validator(schema)


VALIDATORS = {
    "PodMonitor": crd_validator("monitoring.coreos.com_podmonitors-v0.93.0.yaml"),
    "PrometheusRule": crd_validator("monitoring.coreos.com_prometheusrules-v0.93.0.yaml"),
}


@pytest.mark.parametrize("values_file", [CHART / "values.yaml", AWS_VALUES], ids=lambda p: p.name)
def test_objects_match_the_operators_crds(render: Render, values_file: Path) -> None:
    sets = ("monitoring.labels.release=kube-prometheus-stack", "monitoring.rules.extraLabels.team=data")
    objs = monitoring(render(values_file, sets=sets, api_versions=CRDS))
    assert len(objs) == 3
    for obj in objs:
        errors = sorted(VALIDATORS[obj["kind"]].iter_errors(obj), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{obj['kind']} {list(e.path)}: {e.message}" for e in errors)
        assert obj["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_validators_reject_an_unknown_field(render: Render) -> None:
    monitor = copy.deepcopy(one(render(api_versions=CRDS), "PodMonitor", DRIVER_MONITOR))
    monitor["spec"]["podMetricsEndpoints"][0]["paht"] = "/metrics"
    assert not VALIDATORS["PodMonitor"].is_valid(monitor)


# --- the PodMonitors scrape the ports the pods have ----------------------------------------------


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


def test_driver_podmonitor_scrapes_the_job_and_spark(render: Render) -> None:
    objs = render(KIND_VALUES, sets=("monitoring.podMonitor.interval=15s",), api_versions=CRDS)
    monitor = one(objs, "PodMonitor", DRIVER_MONITOR)["spec"]
    app = sparkapp(objs)
    assert selects(monitor["selector"], app["spec"]["driver"]["labels"])
    assert not selects(monitor["selector"], app["spec"]["executor"]["labels"])
    endpoints = {e["port"]: e for e in monitor["podMetricsEndpoints"]}
    assert endpoints["job-metrics"]["path"] == "/metrics"
    assert endpoints["spark-ui"]["path"] == "/metrics/prometheus"  # Spark names the UI port `spark-ui`
    assert {e["interval"] for e in endpoints.values()} == {"15s"}
    port = named(spark_container(app, "driver")["ports"], "job-metrics")["containerPort"]
    assert app["spec"]["driver"]["annotations"]["prometheus.io/port"] == str(port)


def test_publisher_podmonitor_scrapes_its_http_port(render: Render) -> None:
    objs = render(api_versions=CRDS)
    monitor = one(objs, "PodMonitor", PUBLISHER_MONITOR)["spec"]
    deployment = one(objs, "Deployment", PUBLISHER)
    assert selects(monitor["selector"], deployment["spec"]["template"]["metadata"]["labels"])
    container = named(deployment_spec(objs, PUBLISHER)["containers"], "publisher")
    assert monitor["podMetricsEndpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
    assert named(container["ports"], "http")["containerPort"] == 8000


def test_podmonitor_interval_empty_is_prometheus_own(render: Render) -> None:
    objs = render(sets=("monitoring.podMonitor.interval=",), api_versions=CRDS)
    for monitor in by_kind(objs, "PodMonitor"):
        assert all("interval" not in e for e in monitor["spec"]["podMetricsEndpoints"])


# --- the alerts -------------------------------------------------------------------------------


def alerts(objs: list[Manifest]) -> dict[str, dict[str, Any]]:
    rule = one(objs, "PrometheusRule", RULES)
    return {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}


@pytest.fixture(scope="module")
def default_alerts(render: Render) -> dict[str, dict[str, Any]]:
    return alerts(render(api_versions=CRDS))


def test_the_alerts(default_alerts: dict[str, dict[str, Any]]) -> None:
    assert set(default_alerts) == JOB_ALERTS | PUBLISHER_ALERTS


def test_every_alert_is_well_formed(default_alerts: dict[str, dict[str, Any]]) -> None:
    """What `promtool check rules` asks for, as far as it can be read without it: a `for` duration,
    a severity label, balanced brackets; plus summary, description and a runbook anchor."""
    for name, rule in default_alerts.items():
        assert DURATION.match(rule["for"]), f"{name}: for {rule['for']}"
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), name
        assert balanced(rule["expr"]), f"{name}: unbalanced {rule['expr']}"
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"]), name
        assert rule["annotations"]["runbook_url"].endswith(f"/docs/operations.md#{name.lower()}"), name
        for text in rule["annotations"].values():
            assert text.count("{{") == text.count("}}"), f"{name}: a broken template in {text}"


def test_alerts_select_the_releases_driver_and_publisher(default_alerts: dict[str, dict[str, Any]]) -> None:
    for name, rule in default_alerts.items():
        matchers = re.findall(r"\{([^}]*)\}", rule["expr"])
        assert matchers, name
        for matcher in matchers:
            assert f'namespace="{NAMESPACE}"' in matcher, f"{name}: {matcher}"
            expected = f'pod="{SPARK_APP}-driver"' if name in JOB_ALERTS else f'pod=~"{PUBLISHER}-'
            assert expected in matcher, f"{name}: {matcher}"


def test_alerts_query_only_metrics_the_sources_define(default_alerts: dict[str, dict[str, Any]]) -> None:
    used = {name: metric_names(rule["expr"]) for name, rule in default_alerts.items()}
    for name, metrics in used.items():
        assert metrics, f"{name}: no metric in {default_alerts[name]['expr']}"
        assert metrics <= DEFINED, f"{name}: {sorted(metrics - DEFINED)} defined by neither the job nor the publisher"


def test_alerts_read_the_jobs_query_names(default_alerts: dict[str, dict[str, Any]]) -> None:
    """The rules name the job's queries (jobs/queries.py `queryName`)."""
    queries = set(re.findall(r'queryName\("([a-z_]+)"\)', (ROOT / "jobs" / "queries.py").read_text()))
    assert queries == {"articles", "author_stats"}
    named_queries = {q for rule in default_alerts.values() for q in re.findall(r'query="([a-z_]+)"', rule["expr"])}
    assert named_queries <= queries
    assert set(re.findall(r'query="([a-z_]+)"', default_alerts["ArticlePipelineNoBatchCompleted"]["expr"])) == queries


def test_docs_have_a_runbook_entry_per_alert(default_alerts: dict[str, dict[str, Any]]) -> None:
    docs = (ROOT / "docs" / "operations.md").read_text()
    section = docs.partition("\n## Alerts\n")[2].partition("\n## ")[0]
    assert section, "docs/operations.md has no '## Alerts' section"
    headings = re.findall(r"^### (\S+)$", section, re.MULTILINE)
    assert sorted(headings) == sorted(default_alerts), "one '### <alert>' per alert, named as in the rule"
    for name in headings:
        entry = section.partition(f"### {name}\n")[2].partition("\n### ")[0]
        assert "- Check:" in entry, f"{name}: the runbook says what to check"
        assert "make status" in entry or "kubectl" in entry, f"{name}: no `make status` or kubectl"
        assert "article_pipeline_" in entry or "article_records" in entry, f"{name}: the runbook names a metric"


def test_thresholds_are_values(render: Render, tmp_path: Path) -> None:
    values = tmp_path / "thresholds.yaml"  # a file: `--set` leaves 0.2 a string
    values.write_text(
        yaml.safe_dump(
            {
                "monitoring": {
                    "rules": {
                        "kinesisLag": {"thresholdSeconds": 30, "for": "2m", "severity": "critical"},
                        "quarantine": {"share": 0.2, "window": "30m"},
                        "publisherFailures": {"share": 0.5},
                        "publisherErrors": {"share": 0.25, "window": "10m", "for": "15m", "severity": "critical"},
                        "watermarkDrops": {"window": "1h"},
                        "outage": {"for": "30s"},
                        "jobDown": {"for": "20m"},
                        "extraLabels": {"team": "data"},
                    }
                }
            }
        )
    )
    objs = render(values, api_versions=CRDS)
    got = alerts(objs)
    lag = got["ArticlePipelineKinesisLagHigh"]
    assert lag["expr"].endswith("/ 1000 > 30") and lag["for"] == "2m" and lag["labels"]["severity"] == "critical"
    assert got["ArticlePipelineQuarantineRateHigh"]["expr"].endswith("> 0.2")
    assert "[30m]" in got["ArticlePipelineQuarantineRateHigh"]["expr"]
    assert got["ArticlePipelinePublisherFailing"]["expr"].endswith("> 0.5")
    errors = got["ArticlePipelinePublisherErrors"]
    assert errors["expr"].endswith("> 0.25") and errors["expr"].count("[10m]") == 2
    assert errors["for"] == "15m" and errors["labels"]["severity"] == "critical"
    assert "[1h]" in got["ArticlePipelineWatermarkDrops"]["expr"]
    assert got["ArticlePipelineOutage"]["for"] == "30s"
    assert got["ArticlePipelineJobNotRunning"]["for"] == "20m"
    assert all(rule["labels"]["team"] == "data" for rule in got.values())


def staleness_limits(rule: dict[str, Any]) -> dict[str, float]:
    return {query: float(limit) for query, limit in re.findall(r'query="([a-z_]+)"\}\) > ([0-9.]+)\)', rule["expr"])}


@pytest.mark.parametrize(
    ("sets", "limits"),
    [
        ((), {"articles": 120, "author_stats": 120}),
        (
            ("spark-job.job.triggerInterval=10 seconds", "spark-job.job.authorStatsTriggerInterval=1 minute"),
            {"articles": 120, "author_stats": 720},
        ),
        (
            ("spark-job.job.triggerInterval=1 min 30 s", "monitoring.rules.staleness.triggerIntervals=3"),
            {"articles": 270, "author_stats": 270},
        ),
        (
            ("spark-job.job.triggerInterval=500 ms", "monitoring.rules.staleness.minimumSeconds=0"),
            {"articles": 6, "author_stats": 6},
        ),
    ],
    ids=["defaults", "author-stats-slower", "minute-and-seconds", "milliseconds"],
)
def test_staleness_is_trigger_intervals(render: Render, sets: tuple[str, ...], limits: dict[str, float]) -> None:
    """No batch for `triggerIntervals` of each query's own trigger interval (at least `minimumSeconds`)."""
    rule = alerts(render(sets=sets, api_versions=CRDS))["ArticlePipelineNoBatchCompleted"]
    assert staleness_limits(rule) == limits


def test_an_available_now_run_is_no_service(render: Render) -> None:
    """A run that drains and exits has no staleness and is not expected to keep running."""
    got = alerts(render(sets=("spark-job.job.triggerInterval=available-now",), api_versions=CRDS))
    assert set(got) == JOB_ALERTS - {"ArticlePipelineNoBatchCompleted", "ArticlePipelineJobNotRunning"} | (
        PUBLISHER_ALERTS
    )


def test_an_unknown_trigger_unit_is_refused(run_helm: Helm) -> None:
    result = run_helm(
        "template", "x", str(CHART), "--api-versions", PROMETHEUS_RULE,
        "--set", "spark-job.job.triggerInterval=5 fortnights",
    )  # fmt: skip
    assert result.returncode != 0 and "fortnights" in result.stderr


@pytest.mark.parametrize(
    ("setting", "named_path"),
    [
        ("monitoring.rules.kinesisLag.for=5 minutes", "/monitoring/rules/kinesisLag/for"),
        ("monitoring.rules.quarantine.share=5", "/monitoring/rules/quarantine/share"),
        ("monitoring.rules.outage.severity=page", "/monitoring/rules/outage/severity"),
        ("monitoring.rules.publisherErrors.window=5 minutes", "/monitoring/rules/publisherErrors/window"),
        ("monitoring.rules.runbookUrl=docs/operations.md", "/monitoring/rules/runbookUrl"),
        ("monitoring.podMonitor.interval=often", "/monitoring/podMonitor/interval"),
        ("monitoring.dashboard.colour=blue", "colour"),
    ],
)
def test_schema_rejects_a_bad_value_naming_it(run_helm: Helm, setting: str, named_path: str) -> None:
    result = run_helm("template", "x", str(CHART), "--set", setting)
    assert result.returncode != 0
    assert named_path in result.stderr, result.stderr


# --- the dashboard ----------------------------------------------------------------------------

DASHBOARD_FILE = CHART / "files" / "dashboard.json"


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_dashboard_configmap_carries_the_sidecar_label(kind_manifests: list[Manifest]) -> None:
    configmap = one(kind_manifests, "ConfigMap", DASHBOARD)
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(configmap["data"]["article-pipeline.json"]) == json.loads(DASHBOARD_FILE.read_text())


def test_dashboard_switch_labels_and_annotations(render: Render) -> None:
    assert not [o for o in render(sets=("monitoring.dashboard.enabled=false",)) if o["metadata"]["name"] == DASHBOARD]
    objs = render(
        sets=(
            "monitoring.dashboard.annotations.grafana_folder=Pipelines",
            "monitoring.labels.release=kps",
            "monitoring.labels.grafana_dashboard=x",
        )
    )
    metadata = one(objs, "ConfigMap", DASHBOARD)["metadata"]
    assert metadata["annotations"] == {"grafana_folder": "Pipelines"}
    assert metadata["labels"]["release"] == "kps" and metadata["labels"]["grafana_dashboard"] == "1"


def test_dashboard_is_valid_json_with_queries() -> None:
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "namespace"} <= variables
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        assert panel["title"] and panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert balanced(target["expr"]), f"{panel['title']}: {target['expr']}"
            assert 'namespace="$namespace"' in target["expr"], f"{panel['title']}: {target['expr']}"


def test_dashboard_queries_only_metrics_the_sources_define() -> None:
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    for panel in panels(dashboard):
        for target in panel["targets"]:
            metrics = metric_names(target["expr"])
            assert metrics, f"{panel['title']}: no metric in {target['expr']}"
            assert metrics <= DEFINED, f"{panel['title']}: {sorted(metrics - DEFINED)} are not defined"


@pytest.mark.parametrize(
    ("title", "metric", "by"),
    [
        ("Kinesis lag per shard", "article_pipeline_kinesis_millis_behind_latest", "shard"),
        ("Throughput in: records read per shard", "article_pipeline_kinesis_records_read_total", "shard"),
        ("Throughput out: rows appended per table", "article_pipeline_table_rows_appended_total", "table"),
        ("Batch duration per query", "article_pipeline_batch_duration_seconds", "query"),
        ("Quarantine by reason", "article_pipeline_quarantined_rows_total", "reason"),
        ("Outage state", "article_pipeline_outage_endpoint", "endpoint"),
    ],
)
def test_dashboard_has_the_main_panels(title: str, metric: str, by: str) -> None:
    panel = next((p for p in panels(json.loads(DASHBOARD_FILE.read_text())) if p["title"] == title), None)
    assert panel, f"no panel {title!r}"
    exprs = [t["expr"] for t in panel["targets"] if metric in metric_names(t["expr"])]
    assert exprs and any(re.search(rf"by \([^)]*\b{by}\b", e) for e in exprs), f"{title}: {metric} by {by}"


def test_docs_tell_how_the_job_is_scraped() -> None:
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    section = docs.partition("\n## Metrics and alerts\n")[2].partition("\n## ")[0]
    assert section, "docs/kubernetes.md has no '## Metrics and alerts' section"
    for needle in ("9404", "JOB_METRICS_BIND", "prometheus.io/port", "PodMonitor", "PrometheusRule"):
        assert needle in section, needle
    assert "grafana_dashboard" in section and "--api-versions" in section


def test_notes_tell_where_the_metrics_are(run_helm: Helm) -> None:
    def notes(*args: str) -> str:
        result = run_helm("install", RELEASE, str(CHART), "--dry-run=client", "--namespace", NAMESPACE, *args)
        assert result.returncode == 0, result.stderr
        return result.stdout.split("NOTES:", 1)[1]

    text = notes()
    assert f"port-forward pod/{SPARK_APP}-driver 9404:9404" in text and "127.0.0.1:9404/metrics" in text
    assert "No PodMonitor or PrometheusRule" in text  # a dry run sees no CRDs
    assert f"ConfigMap {DASHBOARD}, for the sidecar that loads grafana_dashboard=1." in text
    assert "until networkPolicy.metricsFrom names it" in text
    opened = notes("--set", "networkPolicy.metricsFrom[0].ipBlock.cidr=10.0.0.0/8")
    assert "until networkPolicy.metricsFrom names it" not in opened
    quiet = notes("--set", "spark-job.metrics.enabled=false", "--set", "publisher.metrics.enabled=false")
    assert "9404" not in quiet and "Monitoring (" not in quiet
