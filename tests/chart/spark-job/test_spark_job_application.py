"""spark-job/templates/application/: the SparkApplication, its pod templates, sparkConf and
restart policy."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_helpers import (
    CHART,
    CI_VALUES,
    Helm,
    Manifest,
    Render,
    cpu_millis,
    env_map,
    mebibytes,
    spark_container,
    spark_template,
    sparkapp,
    template_text,
)
from pipeline_testing import pinned_pyspark

pytestmark = pytest.mark.chart


# Fields of spec.driver / spec.executor that only the operator's mutating webhook applies (v2.5.2,
# internal/webhook/sparkpod_defaulter.go); with a pod template the operator does not label the
# pods for mutation, so any of these would be silently dropped.
WEBHOOK_ONLY_FIELDS = {
    "env",
    "envFrom",
    "volumeMounts",
    "podSecurityContext",
    "securityContext",
    "affinity",
    "tolerations",
    "sidecars",
    "initContainers",
    "hostNetwork",
    "dnsConfig",
    "schedulerName",
    "priorityClassName",
    "terminationGracePeriodSeconds",
    "lifecycle",
    "hostAliases",
    "shareProcessNamespace",
    "configMaps",
    "gpu",
    "ports",
    "nodeSelector",
}


PYTHON_WORKERS_MIB = 1250  # bench: steady-state PSS of all Spark-started Python processes


# The CRD's int32 maximum: Spark Operator 2.5.2 retries while `status.executionAttempts` (failed
# runs) or `status.submissionAttempts` (every submission) is <= the count (pkg/util ShouldRetry),
# and both counters cover the application's whole life.
UNLIMITED = 2**31 - 1


def test_delta_jars_are_on_both_class_paths_from_jvm_start(manifests: list[Manifest]) -> None:
    conf = sparkapp(manifests)["spec"]["sparkConf"]
    # The driver JVM starts before the job's Python code: only the SparkApplication can add them.
    assert conf["spark.driver.extraClassPath"] == conf["spark.executor.extraClassPath"] == "/opt/jars/*"


def test_sparkapplication_contract(manifests: list[Manifest]) -> None:
    spec = sparkapp(manifests)["spec"]
    assert spec["type"] == "Python"
    assert spec["pythonVersion"] == "3"
    assert spec["mode"] == "cluster"
    assert spec["sparkVersion"] == pinned_pyspark(), "the SparkApplication names the Spark the image carries"
    assert spec["mainApplicationFile"] == "local:///opt/app/jobs/process_articles.py"
    assert spec["image"].endswith("article-pipeline/spark-job:0.1.0")
    rp = spec["restartPolicy"]
    assert rp["type"] == "OnFailure"
    assert rp["onFailureRetries"] >= 1 and rp["onSubmissionFailureRetries"] >= 1
    assert rp["onFailureRetryInterval"] >= 1 and rp["onSubmissionFailureRetryInterval"] >= 1


def test_spark_pods_readonly_root_with_writable_tmp(manifests: list[Manifest]) -> None:
    app = sparkapp(manifests)
    for role in ("driver", "executor"):
        volumes = {v["name"]: v for v in spark_template(app, role)["volumes"]}
        container = spark_container(app, role)
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        tmp = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
        assert "emptyDir" in volumes[tmp["name"]]


def test_checkpoint_path_follows_values(render: Render) -> None:
    app = sparkapp(render(sets=("spark-job.checkpoint.mountPath=/data/ckpt",)))
    for role in ("driver", "executor"):
        container = spark_container(app, role)
        assert env_map(container["env"])["CHECKPOINT_LOCATION"] == "/data/ckpt"
        assert "/data/ckpt" in [m["mountPath"] for m in container["volumeMounts"]]
    guard = next(c for c in spark_template(app, "driver")["initContainers"] if c["name"] == "checkpoint-guard")
    assert env_map(guard["env"])["CHECKPOINT_LOCATION"] == "/data/ckpt"
    assert "/data/ckpt" in [m["mountPath"] for m in guard["volumeMounts"]]


def test_author_stats_trigger_only_when_set(render: Render) -> None:
    default = env_map(spark_container(sparkapp(render()), "driver")["env"])
    assert "AUTHOR_STATS_TRIGGER_INTERVAL" not in default  # the job falls back to TRIGGER_INTERVAL
    app = sparkapp(render(sets=("spark-job.job.authorStatsTriggerInterval=30 seconds",)))
    assert env_map(spark_container(app, "driver")["env"])["AUTHOR_STATS_TRIGGER_INTERVAL"] == "30 seconds"


def test_spark_metrics_switch(render: Render) -> None:
    on = sparkapp(render())["spec"]
    assert on["sparkConf"]["spark.ui.prometheus.enabled"] == "true"
    assert (
        on["sparkConf"]["spark.metrics.conf.*.sink.prometheusServlet.class"]
        == "org.apache.spark.metrics.sink.PrometheusServlet"
    )
    assert on["driver"]["annotations"]["prometheus.io/scrape"] == "true"
    off = sparkapp(render(sets=("spark-job.metrics.enabled=false",)))["spec"]
    assert not any("prometheus" in k.lower() for k in off["sparkConf"])
    assert "annotations" not in off["driver"]


@pytest.mark.parametrize("values_file", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_job_metrics_served_by_the_driver_alone(render: Render, values_file: Path) -> None:
    """The job's own metrics (jobs/job_metrics.py): JOB_METRICS_BIND on every interface of the driver
    at metrics.port, a container port named for the PodMonitor, and the pod's scrape annotations
    pointing there; the executors serve nothing (no variable, no port)."""
    app = sparkapp(render(values_file))
    driver = spark_container(app, "driver")
    assert env_map(driver["env"])["JOB_METRICS_BIND"] == "0.0.0.0:9404"
    assert driver["ports"] == [{"name": "job-metrics", "containerPort": 9404, "protocol": "TCP"}]
    assert app["spec"]["driver"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9404",
        "prometheus.io/path": "/metrics",
    }
    executor = spark_container(app, "executor")
    assert "JOB_METRICS_BIND" not in env_map(executor["env"])
    assert "ports" not in executor
    assert "annotations" not in app["spec"]["executor"]


def test_job_metrics_bind_is_one_the_job_accepts(kind_manifests: list[Manifest]) -> None:
    """The job parses JOB_METRICS_BIND as host:port (common.env) and serves on it (jobs/job_metrics.py)."""
    from common.env import EnvReader

    bind = env_map(spark_container(sparkapp(kind_manifests), "driver")["env"])["JOB_METRICS_BIND"]
    assert EnvReader({"JOB_METRICS_BIND": bind}).bind("JOB_METRICS_BIND", "") == bind


def test_job_metrics_port_and_switch(render: Render) -> None:
    app = sparkapp(render(sets=("spark-job.metrics.port=9500", "spark-job.driver.annotations.team=data")))
    driver = spark_container(app, "driver")
    assert env_map(driver["env"])["JOB_METRICS_BIND"] == "0.0.0.0:9500"
    assert driver["ports"][0]["containerPort"] == 9500
    assert app["spec"]["driver"]["annotations"]["prometheus.io/port"] == "9500"
    assert app["spec"]["driver"]["annotations"]["team"] == "data"
    off = sparkapp(render(sets=("spark-job.metrics.enabled=false",)))
    assert "JOB_METRICS_BIND" not in env_map(spark_container(off, "driver")["env"])
    assert "ports" not in spark_container(off, "driver")


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("spark-job.metrics.port=4040", "spark.ui.port"),
        ("spark-job.metrics.port=7078", "spark.driver.port"),
        ("spark-job.sparkConf.spark\\.ui\\.port=9404", "spark.ui.port"),
    ],
)
def test_job_metrics_port_is_not_one_of_sparks(run_helm: Helm, setting: str, named: str) -> None:
    result = run_helm("template", "x", str(CHART), "--set", setting)
    assert result.returncode != 0, setting
    assert "metrics.port" in result.stderr and named in result.stderr, result.stderr


@pytest.mark.parametrize("port", ["80", "70000", "nine"])
def test_job_metrics_port_schema(run_helm: Helm, port: str) -> None:
    result = run_helm("template", "x", str(CHART), "--set", f"spark-job.metrics.port={port}")
    assert result.returncode != 0 and "/metrics/port" in result.stderr, result.stderr


def test_chart_refuses_job_metrics_bind_in_extra_env(run_helm: Helm) -> None:
    result = run_helm(
        "template", "x", str(CHART),
        "--set", "spark-job.extraEnv[0].name=JOB_METRICS_BIND", "--set", "spark-job.extraEnv[0].value=0.0.0.0:1",
    )  # fmt: skip
    assert result.returncode != 0 and "JOB_METRICS_BIND" in result.stderr and "metrics.port" in result.stderr


def test_job_env_leaves_master_and_local_ip_to_the_operator(manifests: list[Manifest]) -> None:
    spec = sparkapp(manifests)["spec"]
    for role in ("driver", "executor"):
        env = env_map(spark_container(sparkapp(manifests), role)["env"])
        assert "SPARK_LOCAL_IP" not in env and "SPARK_MASTER_URL" not in env
        for name in (
            "KINESIS_STREAM_NAME",
            "S3_BUCKET_NAME",
            "AWS_REGION",
            "STARTING_POSITION",
            "WATERMARK_DELAY",
            "TRIGGER_INTERVAL",
            "SPARK_APP_NAME",
            "LOG_LEVEL",
        ):
            assert env.get(name), f"{role}: {name} missing"
    assert not any(k.startswith("spark.master") for k in spec.get("sparkConf", {}))


def test_spark_pods_request_a_fraction_of_a_cpu(kind_manifests: list[Manifest]) -> None:
    spec = sparkapp(kind_manifests)["spec"]
    for role in ("driver", "executor"):
        assert cpu_millis(spec[role]["coreRequest"]) <= 250, f"{role} requests a whole CPU"
        assert isinstance(spec[role]["cores"], int) and spec[role]["cores"] >= 1


def test_pyspark_memory_overhead_covers_python_workers(kind_manifests: list[Manifest]) -> None:
    spec = sparkapp(kind_manifests)["spec"]
    for role in ("driver", "executor"):
        assert mebibytes(spec[role]["memoryOverhead"]) >= PYTHON_WORKERS_MIB, role
        # the operator passes it as spark.<role>.memoryOverhead: a quantity Spark parses
        assert re.fullmatch(r"[0-9]+[kmg]", spec[role]["memoryOverhead"])


@pytest.mark.parametrize("values_file", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_nothing_depends_on_the_webhook(render: Render, values_file: Path) -> None:
    app = sparkapp(render(values_file))
    spec = app["spec"]
    assert "volumes" not in spec, "spec.volumes reach the pods only through the webhook"
    for role in ("driver", "executor"):
        leaked = WEBHOOK_ONLY_FIELDS & set(spec[role])
        assert not leaked, f"spec.{role} has webhook-only fields {sorted(leaked)}: put them in the template"
        template = spark_template(app, role)
        container = spark_container(app, role)
        volumes = {v["name"]: v for v in template["volumes"]}
        # the checkpoint PVC (unless on S3), credentials/endpoint, security contexts, affinity all
        # come with the template
        env = env_map(container["env"])
        if not env["CHECKPOINT_LOCATION"].startswith(("s3://", "s3a://")):
            ckpt = next(m for m in container["volumeMounts"] if m["mountPath"] == env["CHECKPOINT_LOCATION"])
            assert "persistentVolumeClaim" in volumes[ckpt["name"]]
        assert {"AWS_REGION", "KINESIS_STREAM_NAME", "S3_BUCKET_NAME", "CHECKPOINT_LOCATION"} <= set(env)
        assert template["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


NODE_POOL = {
    "requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["spark"]}]}]
    }
}
AWAY_FROM_DRIVER = {
    "preferredDuringSchedulingIgnoredDuringExecution": [
        {
            "weight": 100,
            "podAffinityTerm": {
                "topologyKey": "kubernetes.io/hostname",
                "labelSelector": {"matchLabels": {"spark-role": "driver"}},
            },
        }
    ]
}
OTHER_POOL = {
    "requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["executors"]}]}]
    }
}


def affinity_sets(prefix: str, affinity: dict[str, Any]) -> tuple[str, ...]:
    """--set-json flags for an affinity value."""
    return tuple(f"{prefix}.{kind}={json.dumps(terms)}" for kind, terms in affinity.items())


def affinities(run_helm: Helm, *json_sets: str) -> dict[str, Any]:
    args: list[str] = []
    for s in json_sets:
        args += ["--set-json", s]
    app = sparkapp([d for d in yaml.safe_load_all(template_text(run_helm, *args)) if d])
    for role in ("driver", "executor"):
        assert "affinity" not in app["spec"][role], "spec.<role>.affinity reaches the pods only through the webhook"
    return {role: spark_template(app, role).get("affinity") for role in ("driver", "executor")}


@pytest.mark.parametrize(
    ("shared", "executor", "expected_driver", "expected_executor"),
    [
        ({}, {}, None, None),
        ({"nodeAffinity": NODE_POOL}, {}, {"nodeAffinity": NODE_POOL}, {"nodeAffinity": NODE_POOL}),
        ({}, {"podAntiAffinity": AWAY_FROM_DRIVER}, None, {"podAntiAffinity": AWAY_FROM_DRIVER}),
        (
            {"nodeAffinity": NODE_POOL},
            {"podAntiAffinity": AWAY_FROM_DRIVER},
            {"nodeAffinity": NODE_POOL},
            {"nodeAffinity": NODE_POOL, "podAntiAffinity": AWAY_FROM_DRIVER},
        ),
        (
            {"nodeAffinity": NODE_POOL},
            {"nodeAffinity": OTHER_POOL},
            {"nodeAffinity": NODE_POOL},
            {"nodeAffinity": OTHER_POOL},
        ),
    ],
    ids=["none", "shared-only", "executor-only", "kinds-combine", "executor-kind-replaces"],
)
def test_executor_affinity_over_the_shared_one(
    run_helm: Helm,
    shared: dict[str, Any],
    executor: dict[str, Any],
    expected_driver: dict[str, Any] | None,
    expected_executor: dict[str, Any] | None,
) -> None:
    """`affinity` goes to both pod templates; each kind `executor.affinity` sets replaces that kind
    for the executors alone; the driver never gets `executor.affinity`."""
    got = affinities(
        run_helm, *affinity_sets("spark-job.affinity", shared), *affinity_sets("spark-job.executor.affinity", executor)
    )
    assert got == {"driver": expected_driver, "executor": expected_executor}


def test_executor_affinity_rejects_an_unknown_kind(run_helm: Helm) -> None:
    result = run_helm("template", "x", str(CHART), "--set", "spark-job.executor.affinity.podAntiAfinity.x=1")
    assert result.returncode != 0
    assert "/executor/affinity" in result.stderr and "podAntiAfinity" in result.stderr


def test_chart_refuses_spark_conf_that_bypasses_the_templates(run_helm: Helm) -> None:
    for key in ("spark\\.kubernetes\\.driver\\.podTemplateFile", "spark\\.executor\\.memoryOverhead"):
        result = run_helm("template", "x", str(CHART), "--set", f"spark-job.sparkConf.{key}=/x")
        assert result.returncode != 0
        assert "set by the chart" in result.stderr


def test_template_containers_named_as_spark_submit_expects(kind_manifests: list[Manifest]) -> None:
    app = sparkapp(kind_manifests)
    # Spark takes the container of this name as the base of its own (operator v2.5.2 constants)
    assert [c["name"] for c in spark_template(app, "driver")["containers"]] == ["spark-kubernetes-driver"]
    assert [c["name"] for c in spark_template(app, "executor")["containers"]] == ["spark-kubernetes-executor"]
    for role in ("driver", "executor"):
        names = [v["name"] for v in spark_template(app, role)["volumes"]]
        assert not [n for n in names if n.startswith("spark-local-dir-")], "Spark owns spark-local-dir-* volumes"
        assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("policy", "present", "absent"),
    [
        (
            "OnFailure",
            {
                "onFailureRetries",
                "onSubmissionFailureRetries",
                "onFailureRetryInterval",
                "onSubmissionFailureRetryInterval",
            },
            set(),
        ),
        ("Always", {"onFailureRetryInterval", "onSubmissionFailureRetryInterval"}, {"onFailureRetries"}),
        ("Never", set(), {"onFailureRetries", "onSubmissionFailureRetries", "onFailureRetryInterval"}),
    ],
)
def test_restart_policy_is_a_value(render: Render, policy: str, present: set[str], absent: set[str]) -> None:
    rp = sparkapp(render(sets=(f"spark-job.restartPolicy.type={policy}",)))["spec"]["restartPolicy"]
    assert rp["type"] == policy
    assert present <= set(rp) and not absent & set(rp)


@pytest.mark.parametrize("values_file", [CHART / "values.yaml", *CI_VALUES], ids=lambda p: p.name)
def test_streaming_job_is_resubmitted_without_a_lifetime_cap(render: Render, values_file: Path) -> None:
    """Outages, drains and driver kills over months must never add up to FAILED for good."""
    rp = sparkapp(render(values_file))["spec"]["restartPolicy"]
    # OnFailure, not Always: a drained available-now run (exit 0) stays COMPLETED
    assert rp["type"] == "OnFailure"
    assert rp["onFailureRetries"] == UNLIMITED
    assert rp["onSubmissionFailureRetries"] == UNLIMITED
    # the operator waits interval x (submissions so far): a small interval keeps that lifetime term short
    assert 1 <= rp["onFailureRetryInterval"] <= 10
    assert 1 <= rp["onSubmissionFailureRetryInterval"] <= 10


def test_retry_counts_are_unlimited_or_a_number(render: Render, run_helm: Helm) -> None:
    rp = sparkapp(render(sets=("spark-job.restartPolicy.onFailureRetries=3",)))["spec"]["restartPolicy"]
    assert rp["onFailureRetries"] == 3 and rp["onSubmissionFailureRetries"] == UNLIMITED
    for bad in ("forever", "-1", str(UNLIMITED + 1)):
        result = run_helm("template", "x", str(CHART), "--set", f"spark-job.restartPolicy.onFailureRetries={bad}")
        assert result.returncode != 0, bad


def test_always_refused_for_an_available_now_run(run_helm: Helm) -> None:
    """Always resubmits a driver that exited 0 at once: a drained run would drain again, forever."""
    result = run_helm(
        "template", "x", str(CHART),
        "--set", "spark-job.restartPolicy.type=Always", "--set", "spark-job.job.triggerInterval=available-now",
    )  # fmt: skip
    assert result.returncode != 0 and "available-now" in result.stderr
    ok = run_helm("template", "x", str(CHART), "--set", "spark-job.job.triggerInterval=available-now")
    assert ok.returncode == 0, ok.stderr


def test_failed_containers_keep_their_last_log_lines(kind_manifests: list[Manifest]) -> None:
    """A permanent error's text ("article-job: invalid setting: ...", the guard's refusal) stays in
    the pod's status as its termination message, next to the exit code the operator reports."""
    app = sparkapp(kind_manifests)
    for role in ("driver", "executor"):
        template = spark_template(app, role)
        for c in template.get("initContainers", []) + template["containers"]:
            assert c.get("terminationMessagePolicy") == "FallbackToLogsOnError", f"{role}/{c['name']}"


@pytest.mark.parametrize("values_file", [CHART / "values.yaml", *CI_VALUES], ids=lambda p: p.name)
def test_spark_is_authenticated_and_its_ui_cannot_kill(render: Render, values_file: Path) -> None:
    """spark.authenticate: the driver generates a secret per application (Spark on Kubernetes) and
    hands it to its executors as `_SPARK_AUTH_SECRET`; nothing without it may join the RPC. The UI's
    kill links are off, so a request to the UI cannot stop a job or a stage."""
    app = sparkapp(render(values_file))
    conf = app["spec"]["sparkConf"]
    assert conf["spark.authenticate"] == "true"
    assert conf["spark.ui.killEnabled"] == "false"
    # the secret is Spark's to generate and pass: the chart sets none and passes none
    assert not [k for k in conf if k.startswith("spark.authenticate.secret")]
    for role in ("driver", "executor"):
        assert "_SPARK_AUTH_SECRET" not in env_map(spark_container(app, role)["env"])


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("spark.ui.killEnabled", "true"),
        ("spark.ui.killEnabled", "TRUE"),
        ("spark.authenticate", "false"),
        ("spark.kubernetes.executor.deleteOnTermination", "false"),
        ("spark.kubernetes.driver.service.deleteOnTermination", "true"),
        ("spark.kubernetes.driver.ownPersistentVolumeClaim", "true"),
        ("spark.driver.extraJavaOptions", "-Xss4m -Dspark.ui.killEnabled=true"),
    ],
)
def test_chart_refuses_spark_conf_it_pins(run_helm: Helm, key: str, value: str) -> None:
    """The chart fails, naming the value, rather than let sparkConf turn kill back on, drop
    authentication or need API rights the driver's Role does not grant."""
    escaped = key.replace(".", "\\.")
    result = run_helm("template", "x", str(CHART), "--set-string", f"spark-job.sparkConf.{escaped}={value}")
    assert result.returncode != 0, f"sparkConf.{key}={value} rendered"
    assert f"sparkConf.{key}={value}" in result.stderr


def test_chart_accepts_its_own_pinned_values_in_spark_conf(render: Render) -> None:
    conf = sparkapp(
        render(
            sets=("spark-job.sparkConf.spark\\.ui\\.killEnabled=false", "spark-job.sparkConf.spark\\.authenticate=true")
        )
    )["spec"]["sparkConf"]
    assert conf["spark.ui.killEnabled"] == "false" and conf["spark.authenticate"] == "true"


@pytest.mark.parametrize(
    "setting",
    [
        "spark\\.kubernetes\\.allocation\\.pods\\.allocator=statefulset",
        "spark\\.kubernetes\\.executor\\.decommissionLabel=draining",
        "spark\\.kubernetes\\.driver\\.annotateExitException=true",
        "spark\\.kubernetes\\.executor\\.volumes\\.persistentVolumeClaim\\.data\\.options\\.claimName=OnDemand",
    ],
)
def test_chart_refuses_spark_conf_that_needs_more_api_rights(run_helm: Helm, setting: str) -> None:
    result = run_helm("template", "x", str(CHART), "--set-string", f"spark-job.sparkConf.{setting}")
    assert result.returncode != 0, setting
    assert "Role" in result.stderr and setting.split("=", maxsplit=1)[0].replace("\\.", ".") in result.stderr


def test_chart_refuses_an_auth_secret_in_extra_env(run_helm: Helm) -> None:
    """Spark passes the generated secret to executors as `_SPARK_AUTH_SECRET`; one from extraEnv
    would be a static secret in the SparkApplication."""
    result = run_helm(
        "template", "x", str(CHART),
        "--set", "spark-job.extraEnv[0].name=_SPARK_AUTH_SECRET", "--set", "spark-job.extraEnv[0].value=x",
    )  # fmt: skip
    assert result.returncode != 0 and "_SPARK_AUTH_SECRET" in result.stderr
