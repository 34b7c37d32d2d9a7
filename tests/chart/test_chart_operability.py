"""The chart defects of issue 16, one test (or more) each: what a real install depends on.

Publisher settings, CPU/memory sizing for a 2-core node, pod templates instead of the
webhook, ordered start-up, rare restarts, restart policy, reset semantics, name truncation,
ServiceAccounts, NOTES, the `helm test` hook and the offline kind values.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_helpers import (
    CHART,
    CI_VALUES,
    NAMESPACE,
    RELEASE,
    ROOT,
    Manifest,
    by_kind,
    env_map,
    images,
    is_aws_values,
    one,
    pods,
    spark_container,
    spark_template,
)

pytestmark = pytest.mark.chart

Render = Callable[..., list[Manifest]]
Helm = Callable[..., subprocess.CompletedProcess[str]]
PUBLISHER = f"{RELEASE}-publisher"
LOCALSTACK = f"{RELEASE}-localstack"
SPARK_APP = f"{RELEASE}-spark-job"
KIND_VALUES = CHART / "ci" / "kind-values.yaml"
AWS_VALUES = CHART / "ci" / "aws-values.yaml"
# Fields of spec.driver / spec.executor that only the operator's mutating webhook applies (v2.5.2,
# internal/webhook/sparkpod_defaulter.go); with a pod template the operator no longer labels the
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
# The kind node's own pods (kube-apiserver 250m, controller-manager 200m, scheduler 100m, etcd
# 100m, 2x CoreDNS 100m, kindnet 100m) and the Spark Operator (controller 50m, webhook 20m).
CLUSTER_CPU_MILLIS = 1020
NODE_CPU_MILLIS = 2000
PYTHON_WORKERS_MIB = 1250  # bench: steady-state PSS of all Spark-started Python processes


def cpu_millis(quantity: str | int | float) -> int:
    text = str(quantity)
    return int(float(text[:-1])) if text.endswith("m") else int(float(text) * 1000)


def mebibytes(quantity: str) -> float:
    """Spark (`1g`, `1280m`) or Kubernetes (`1Gi`, `512Mi`) memory quantities in MiB."""
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(quantity))
    assert match, quantity
    number, unit = float(match.group(1)), match.group(2).lower()
    factor = {"": 1 / 2**20, "k": 1 / 1024, "ki": 1 / 1024, "m": 1, "mi": 1, "g": 1024, "gi": 1024}[unit]
    return number * factor


def sparkapp(objs: list[Manifest]) -> Manifest:
    return one(objs, "SparkApplication", SPARK_APP)


def deployment_spec(objs: list[Manifest], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = one(objs, "Deployment", name)["spec"]["template"]["spec"]
    return spec


def named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [i for i in items if i["name"] == name]
    assert len(found) == 1, f"no {name} in {[i['name'] for i in items]}"
    return found[0]


# --- the publisher gets S3_BUCKET_NAME ------------------------------------------------------


@pytest.mark.parametrize("values_file", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_publisher_gets_the_bucket_name(render: Render, values_file: Path) -> None:
    objs = render(values_file, sets=("global.s3.bucketName=bucket-from-values",))
    env = env_map(named(deployment_spec(objs, PUBLISHER)["containers"], "publisher")["env"])
    assert env["S3_BUCKET_NAME"] == "bucket-from-values"
    job_env = env_map(spark_container(sparkapp(objs), "driver")["env"])
    assert job_env["S3_BUCKET_NAME"] == "bucket-from-values"


# --- CPU and memory for a 2-core node --------------------------------------------------------


def test_spark_pods_request_a_fraction_of_a_cpu(kind_manifests: list[Manifest]) -> None:
    spec = sparkapp(kind_manifests)["spec"]
    for role in ("driver", "executor"):
        assert cpu_millis(spec[role]["coreRequest"]) <= 250, f"{role} requests a whole CPU"
        assert isinstance(spec[role]["cores"], int) and spec[role]["cores"] >= 1


@pytest.mark.parametrize("values_file", [p for p in CI_VALUES if not is_aws_values(p)], ids=lambda p: p.name)
def test_whole_release_fits_a_two_core_node(render: Render, values_file: Path) -> None:
    """Sum of CPU requests (the largest of init or main containers per pod) next to the cluster's own."""
    objs = render(values_file)
    total = 0
    for label, _, _containers in pods(objs):
        if label.startswith(("SparkApplication/", "Pod/")):
            continue  # Spark pods below; the test pod runs alone after install
        spec = deployment_spec(objs, label.split("/")[1])
        main = sum(cpu_millis(c["resources"]["requests"]["cpu"]) for c in spec["containers"])
        init = max((cpu_millis(c["resources"]["requests"]["cpu"]) for c in spec.get("initContainers", [])), default=0)
        total += max(main, init)
    spec = sparkapp(objs)["spec"]
    total += cpu_millis(spec["driver"]["coreRequest"])
    total += cpu_millis(spec["executor"]["coreRequest"]) * spec["executor"]["instances"]
    assert total + CLUSTER_CPU_MILLIS <= NODE_CPU_MILLIS, f"the release requests {total}m CPU"


def test_pyspark_memory_overhead_covers_python_workers(kind_manifests: list[Manifest]) -> None:
    spec = sparkapp(kind_manifests)["spec"]
    for role in ("driver", "executor"):
        assert mebibytes(spec[role]["memoryOverhead"]) >= PYTHON_WORKERS_MIB, role
        # the operator passes it as spark.<role>.memoryOverhead: a quantity Spark parses
        assert re.fullmatch(r"[0-9]+[kmg]", spec[role]["memoryOverhead"])


def test_node_size_documented() -> None:
    text = (ROOT / "charts" / "README.md").read_text()
    assert re.search(r"2 CPUs?, 8 GB", text), "charts/README.md must state the node size"
    values = (CHART / "charts" / "spark-job" / "values.yaml").read_text()
    assert "2-CPU, 8 GB" in values


# --- pod templates instead of the webhook ----------------------------------------------------


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
        # the checkpoint PVC, credentials/endpoint, security contexts all come with the template
        ckpt = next(m for m in container["volumeMounts"] if m["mountPath"] == "/checkpoints")
        assert "persistentVolumeClaim" in volumes[ckpt["name"]]
        env = env_map(container["env"])
        assert {"AWS_REGION", "KINESIS_STREAM_NAME", "S3_BUCKET_NAME", "CHECKPOINT_LOCATION"} <= set(env)
        assert template["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


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


# --- ordered start-up ------------------------------------------------------------------------


def test_localstack_ready_only_with_stream_and_bucket(kind_manifests: list[Manifest]) -> None:
    spec = deployment_spec(kind_manifests, LOCALSTACK)
    c = named(spec["containers"], "localstack")
    assert c["readinessProbe"]["exec"]["command"] == ["python3", "/etc/article-pipeline/ready.py"]
    probe_mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/etc/article-pipeline")
    volume = named(spec["volumes"], probe_mount["name"])
    assert [i["key"] for i in volume["configMap"]["items"]] == ["ready.py"]
    data = one(kind_manifests, "ConfigMap", f"{LOCALSTACK}-init")["data"]
    assert data["ready.py"] == (CHART / "charts" / "localstack" / "files" / "ready.py").read_text()


def test_publisher_and_driver_wait_for_the_stream_and_bucket(kind_manifests: list[Manifest]) -> None:
    init = named(deployment_spec(kind_manifests, PUBLISHER)["initContainers"], "wait-for-aws")
    assert init["command"] == ["python3", "/scripts/wait_for_aws.py"]
    assert {"KINESIS_STREAM_NAME", "S3_BUCKET_NAME", "AWS_ENDPOINT_URL"} <= set(env_map(init["env"]))
    driver_init = spark_template(sparkapp(kind_manifests), "driver")["initContainers"]
    assert [c["name"] for c in driver_init] == ["wait-for-aws", "checkpoint-guard"]
    assert "initContainers" not in spark_template(sparkapp(kind_manifests), "executor")


def test_publisher_on_aws_creates_what_it_needs_without_waiting(aws_manifests: list[Manifest]) -> None:
    assert "initContainers" not in deployment_spec(aws_manifests, PUBLISHER)
    # the job still waits: it cannot create the stream
    assert spark_template(sparkapp(aws_manifests), "driver")["initContainers"]


# --- rare restarts, no persistence pretence ---------------------------------------------------


def test_localstack_restarts_rarely_and_claims_no_persistence(kind_manifests: list[Manifest]) -> None:
    deploy = one(kind_manifests, "Deployment", LOCALSTACK)
    template = deploy["spec"]["template"]
    c = named(template["spec"]["containers"], "localstack")
    assert not any(k.startswith("checksum/") for k in template["metadata"].get("annotations", {}))
    assert "PERSISTENCE" not in env_map(c["env"])
    assert not [p for p in by_kind(kind_manifests, "PersistentVolumeClaim") if "localstack" in p["metadata"]["name"]]
    live, start = c["livenessProbe"], c["startupProbe"]
    assert live["timeoutSeconds"] >= 5
    assert live["periodSeconds"] * live["failureThreshold"] >= 60
    assert start["periodSeconds"] * start["failureThreshold"] >= 180
    assert c["resources"]["limits"]["memory"] in ("2Gi",) or mebibytes(c["resources"]["limits"]["memory"]) >= 1536
    for deploy in by_kind(kind_manifests, "Deployment"):
        annotations = deploy["spec"]["template"]["metadata"].get("annotations", {})
        assert not any(k.startswith("checksum/") for k in annotations), deploy["metadata"]["name"]


def test_changing_a_name_rolls_localstack_through_its_env(render: Render) -> None:
    before = one(render(KIND_VALUES), "ConfigMap", f"{LOCALSTACK}-init")
    objs = render(KIND_VALUES, sets=("global.kinesis.streamName=other",))
    assert one(objs, "ConfigMap", f"{LOCALSTACK}-init") == before
    env = env_map(named(deployment_spec(objs, LOCALSTACK)["containers"], "localstack")["env"])
    assert env["AP_STREAM_NAME"] == "other"


# --- restart policy ---------------------------------------------------------------------------

# The CRD's int32 maximum: Spark Operator 2.5.2 retries while `status.executionAttempts` (failed
# runs) or `status.submissionAttempts` (every submission) is <= the count (pkg/util ShouldRetry),
# and both counters cover the application's whole life.
UNLIMITED = 2**31 - 1


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


# --- reset semantics of the checkpoint PVC ----------------------------------------------------


def test_kind_uninstall_deletes_the_checkpoint(render: Render) -> None:
    for values in (CHART / "ci" / "default-values.yaml", KIND_VALUES, CHART / "values.yaml"):
        pvc = one(render(values), "PersistentVolumeClaim", f"{SPARK_APP}-checkpoints")
        assert "helm.sh/resource-policy" not in pvc["metadata"].get("annotations", {}), values.name
        guard = named(spark_template(sparkapp(render(values)), "driver")["initContainers"], "checkpoint-guard")
        assert env_map(guard["env"])["ON_STREAM_RECREATED"] == "reset"
        assert env_map(guard["env"])["ALLOW_EXISTING_OUTPUTS"] == "false"


def test_aws_keeps_the_checkpoint_and_fails_on_a_recreated_stream(aws_manifests: list[Manifest]) -> None:
    pvc = one(aws_manifests, "PersistentVolumeClaim", f"{SPARK_APP}-checkpoints")
    assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    guard = named(spark_template(sparkapp(aws_manifests), "driver")["initContainers"], "checkpoint-guard")
    assert env_map(guard["env"])["ON_STREAM_RECREATED"] == "fail"


# --- the LocalStack endpoint follows the Service's (truncated) name -----------------------------


def test_localstack_endpoint_respects_name_truncation(run_helm: Helm) -> None:
    release = "r" * 53  # <release>-localstack is 64 characters: truncated to 63
    result = run_helm("template", release, str(CHART), "--namespace", NAMESPACE, "-f", str(KIND_VALUES))
    assert result.returncode == 0, result.stderr
    objs = [d for d in yaml.safe_load_all(result.stdout) if d]
    service = next(
        o
        for o in by_kind(objs, "Service")
        if "localstack" in o["metadata"]["name"] or o["metadata"]["name"].endswith("-localstac")
    )
    name = service["metadata"]["name"]
    assert len(name) <= 63
    for label, _, containers in pods(objs):
        for c in containers:
            endpoint = env_map(c.get("env")).get("AWS_ENDPOINT_URL")
            if endpoint is not None:
                assert endpoint == f"http://{name}:4566", f"{label}/{c['name']}"


def test_default_endpoint_without_localstack_fails_loudly(run_helm: Helm) -> None:
    result = run_helm("template", "x", str(CHART), "--set", "localstack.enabled=false")
    assert result.returncode != 0
    assert "localstack.host" in result.stderr


# --- NOTES tell the truth ---------------------------------------------------------------------


def notes(run_helm: Helm, *args: str) -> str:
    result = run_helm(
        "install", RELEASE, str(CHART), "--dry-run=client", "--namespace", NAMESPACE, *args,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.split("NOTES:", 1)[1]


def test_notes_commands_match_the_objects(run_helm: Helm, kind_manifests: list[Manifest]) -> None:
    text = notes(run_helm, "-f", str(KIND_VALUES))
    assert f"helm -n {NAMESPACE} uninstall {RELEASE} --wait" in text
    assert f"port-forward svc/{PUBLISHER} 18001:8000" in text and "http://127.0.0.1:18001/health" in text
    assert f"helm -n {NAMESPACE} test {RELEASE}" in text
    assert f"logs -f {SPARK_APP}-driver" in text  # the operator names the driver pod <app>-driver
    names = {o["metadata"]["name"] for o in kind_manifests}
    for ref in re.findall(r"(?:svc|deploy|sparkapplication)[/ ]([a-z0-9-]+)", text):
        assert ref in names, f"NOTES mention {ref}, which the chart does not create"
    assert "delete pvc" not in text  # uninstall already deletes it on kind


def test_notes_on_aws_explain_the_kept_checkpoint(run_helm: Helm) -> None:
    text = notes(run_helm, "-f", str(AWS_VALUES))
    assert f"delete pvc {SPARK_APP}-checkpoints" in text
    assert "LocalStack" not in text.split("Output lands in:")[0].replace("LocalStack is Ready", "")


# --- helm test hook ---------------------------------------------------------------------------


def test_helm_test_hook(kind_manifests: list[Manifest]) -> None:
    tests = [
        o for o in by_kind(kind_manifests, "Pod") if o["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"
    ]
    assert len(tests) == 1
    pod = tests[0]
    policy = pod["metadata"]["annotations"]["helm.sh/hook-delete-policy"].split(",")
    assert "hook-succeeded" in policy and "before-hook-creation" in policy
    c = pod["spec"]["containers"][0]
    env = env_map(c["env"])
    service = one(kind_manifests, "Service", PUBLISHER)
    assert env["PUBLISHER_URL"] == f"http://{PUBLISHER}:{service['spec']['ports'][0]['port']}"
    assert {"KINESIS_STREAM_NAME", "S3_BUCKET_NAME", "AWS_ENDPOINT_URL"} <= set(env)
    assert c["command"] == ["python3", "/scripts/helm_test.py"]
    assert pod["spec"]["restartPolicy"] == "Never"


# --- offline kind values ------------------------------------------------------------------------


def test_kind_values_use_only_local_images(render: Render) -> None:
    objs = render(KIND_VALUES)
    refs = images(objs)
    assert refs and all(ref.startswith("localhost/article-pipeline/") for ref in refs), refs
    for _, _, containers in pods(objs):
        for c in containers:
            assert c.get("imagePullPolicy", "IfNotPresent") in ("IfNotPresent", "Never")
    assert sparkapp(objs)["spec"]["imagePullPolicy"] in ("IfNotPresent", "Never")
    # the names the image builds produce
    assert "localhost/article-pipeline/localstack:4.14.0" in refs
    built = (ROOT / "images" / "localstack" / "Dockerfile").read_text()
    assert "localhost/article-pipeline/localstack:4.14.0" in built


def test_default_values_never_name_home_built_images_upstream(render: Render) -> None:
    for ref in images(render(CHART / "ci" / "default-values.yaml")):
        assert not ref.startswith("localhost/"), ref


# --- found on the real cluster ----------------------------------------------------------------


def test_operator_may_create_the_driver_network_policy(kind_manifests: list[Manifest]) -> None:
    """Spark >= 4.2's spark-submit creates a NetworkPolicy per driver (server-side apply: PATCH)."""
    role = one(kind_manifests, "Role", f"{SPARK_APP}-submitter")
    rule = next(r for r in role["rules"] if "networkpolicies" in r["resources"])
    assert rule["apiGroups"] == ["networking.k8s.io"]
    assert {"get", "create", "patch", "delete"} <= set(rule["verbs"])
    binding = one(kind_manifests, "RoleBinding", f"{SPARK_APP}-submitter")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    # `make operator` installs release spark-operator in namespace spark-operator
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "spark-operator-controller", "namespace": "spark-operator"}
    ]
    mk = (ROOT / "mk" / "kind.mk").read_text()
    assert "SPARK_OPERATOR_NAMESPACE ?= spark-operator" in mk
    assert "upgrade --install spark-operator " in mk


def test_kinesis_mock_gets_a_heap_that_lasts(kind_manifests: list[Manifest]) -> None:
    """kinesis-mock (node) ran out of its default heap after ~15 minutes on kind: every stream gone."""
    c = named(deployment_spec(kind_manifests, LOCALSTACK)["containers"], "localstack")
    heap = int(env_map(c["env"])["NODE_OPTIONS"].split("=")[1])
    assert heap >= 1536
    assert mebibytes(c["resources"]["limits"]["memory"]) >= heap + 1024  # plus Python and S3 objects
