"""Assertions on the rendered manifests: probes, checkpoints PVC, security, images, AWS mode."""

from __future__ import annotations

import json
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
    values_of,
)
from pipeline_testing import pinned_pyspark

pytestmark = pytest.mark.chart

Render = Callable[..., list[Manifest]]
PUBLISHER = f"{RELEASE}-publisher"
LOCALSTACK = f"{RELEASE}-localstack"
SPARK_APP = f"{RELEASE}-spark-job"
STATIC_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
IRSA = "eks.amazonaws.com/role-arn"


def container(deploy: Manifest, name: str) -> dict[str, Any]:
    """A named container of a Deployment."""
    return next(c for c in deploy["spec"]["template"]["spec"]["containers"] if c["name"] == name)


def sparkapp(objs: list[Manifest]) -> Manifest:
    """The job's SparkApplication."""
    return one(objs, "SparkApplication", SPARK_APP)


# --- publisher -----------------------------------------------------------------------------


def test_publisher_probes_split_ready_and_live(manifests: list[Manifest]) -> None:
    c = container(one(manifests, "Deployment", PUBLISHER), "publisher")
    assert c["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    # startup must not depend on Kinesis either
    assert c["startupProbe"]["httpGet"]["path"] == "/health/live"


def test_publisher_readonly_root_with_writable_tmp(manifests: list[Manifest]) -> None:
    deploy = one(manifests, "Deployment", PUBLISHER)
    c = container(deploy, "publisher")
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    tmp = next(m for m in c["volumeMounts"] if m["mountPath"] == "/tmp")
    vol = next(v for v in deploy["spec"]["template"]["spec"]["volumes"] if v["name"] == tmp["name"])
    assert "emptyDir" in vol
    assert deploy["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001


def test_publisher_service_targets_http(manifests: list[Manifest]) -> None:
    svc = one(manifests, "Service", PUBLISHER)
    assert svc["spec"]["ports"][0]["port"] == 8000
    assert svc["spec"]["ports"][0]["targetPort"] == "http"
    labels = one(manifests, "Deployment", PUBLISHER)["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()


# --- spark job -----------------------------------------------------------------------------


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


def test_checkpoint_pvc_mounted_on_driver_and_executors(manifests: list[Manifest]) -> None:
    app = sparkapp(manifests)
    pvc_names = {p["metadata"]["name"] for p in by_kind(manifests, "PersistentVolumeClaim")}
    for role in ("driver", "executor"):
        volumes = {v["name"]: v for v in spark_template(app, role)["volumes"]}
        container = spark_container(app, role)
        env = env_map(container["env"])
        checkpoint = env["CHECKPOINT_LOCATION"]
        assert checkpoint == "/checkpoints"
        mounts = [m for m in container["volumeMounts"] if m["mountPath"] == checkpoint]
        assert len(mounts) == 1, f"{role}: nothing mounted at {checkpoint}"
        claim = volumes[mounts[0]["name"]]["persistentVolumeClaim"]["claimName"]
        assert claim in pvc_names, f"{role}: claim {claim} is not rendered"
        assert not mounts[0].get("readOnly", False)


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


def test_checkpoint_pvc_access_mode_and_class_from_values(manifests: list[Manifest], values_file: Path) -> None:
    pvc = one(manifests, "PersistentVolumeClaim", f"{SPARK_APP}-checkpoints")
    ckpt = values_of(values_file).get("spark-job", {}).get("checkpoint", {})
    assert pvc["spec"]["accessModes"] == [ckpt.get("accessMode", "ReadWriteOnce")]
    if ckpt.get("storageClass"):
        assert pvc["spec"]["storageClassName"] == ckpt["storageClass"]


def test_driver_rbac(manifests: list[Manifest]) -> None:
    spec = sparkapp(manifests)["spec"]
    sa = spec["driver"]["serviceAccount"]
    accounts = {s["metadata"]["name"]: s for s in by_kind(manifests, "ServiceAccount")}
    assert sa in accounts
    # executors run under their own ServiceAccount: no Role, no token
    executor_sa = spec["executor"]["serviceAccount"]
    assert executor_sa != sa and executor_sa in accounts
    assert accounts[executor_sa]["automountServiceAccountToken"] is False
    assert spark_template(sparkapp(manifests), "executor")["automountServiceAccountToken"] is False
    assert spark_template(sparkapp(manifests), "driver")["automountServiceAccountToken"] is True
    role = one(manifests, "Role", f"{SPARK_APP}-driver")
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert {"pods", "services", "configmaps", "persistentvolumeclaims"} <= resources
    verbs = {v for rule in role["rules"] for v in rule["verbs"]}
    assert {"create", "get", "list", "watch", "delete"} <= verbs
    binding = one(manifests, "RoleBinding", f"{SPARK_APP}-driver")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE}]


def test_spark_ui_service_selects_driver(manifests: list[Manifest]) -> None:
    svc = one(manifests, "Service", f"{SPARK_APP}-ui")
    driver_labels = sparkapp(manifests)["spec"]["driver"]["labels"]
    executor_labels = sparkapp(manifests)["spec"]["executor"]["labels"]
    assert svc["spec"]["selector"].items() <= driver_labels.items()
    assert not svc["spec"]["selector"].items() <= executor_labels.items()
    assert svc["spec"]["ports"][0]["targetPort"] == 4040


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


def test_every_setting_the_chart_sets_parses(manifests: list[Manifest]) -> None:
    """The env the chart gives the job and the publisher passes the project's own settings parser."""
    from jobs.settings import JobSettings
    from publisher.settings import PublisherSettings

    def literal(env: dict[str, Any]) -> dict[str, str]:
        return {name: value for name, value in env.items() if isinstance(value, str)}

    job_env = literal(env_map(spark_container(sparkapp(manifests), "driver")["env"]))
    assert JobSettings.from_env(job_env).retry_deadline.seconds >= 1
    deploy = one(manifests, "Deployment", PUBLISHER)
    PublisherSettings.from_env(literal(env_map(container(deploy, "publisher")["env"])))


def test_publisher_token_comes_from_a_secret_only_when_enabled(render: Render) -> None:
    off = container(one(render(), "Deployment", PUBLISHER), "publisher")
    assert "PUBLISHER_API_TOKEN" not in env_map(off["env"])
    assert not by_kind(render(), "Secret")
    objs = render(sets=("publisher.apiToken.enabled=true",))
    (secret,) = by_kind(objs, "Secret")
    token = container(one(objs, "Deployment", PUBLISHER), "publisher")["env"]
    ref = next(e for e in token if e["name"] == "PUBLISHER_API_TOKEN")["valueFrom"]["secretKeyRef"]
    assert ref == {"name": secret["metadata"]["name"], "key": "token"}
    import base64

    assert len(base64.b64decode(secret["data"]["token"])) == 32  # the publisher requires >= 16
    own = render(sets=("publisher.apiToken.enabled=true", "publisher.apiToken.existingSecret=my-token"))
    assert not by_kind(own, "Secret")
    ref = next(e for e in container(one(own, "Deployment", PUBLISHER), "publisher")["env"] if "valueFrom" in e)
    assert ref["valueFrom"]["secretKeyRef"]["name"] == "my-token"


# --- every workload ------------------------------------------------------------------------


def test_non_root_everywhere(manifests: list[Manifest]) -> None:
    found = pods(manifests)
    assert len(found) >= 3
    for label, pod_sc, containers in found:
        for c in containers:
            sc = {**pod_sc, **c.get("securityContext", {})}
            assert sc.get("runAsNonRoot") is True, f"{label}/{c['name']}: runAsNonRoot not set"
            assert isinstance(sc.get("runAsUser"), int) and sc["runAsUser"] != 0, (
                f"{label}/{c['name']}: runAsUser must be a non-zero uid"
            )
            assert c.get("securityContext", {}).get("allowPrivilegeEscalation") is False, label


def test_images_pinned(manifests: list[Manifest]) -> None:
    refs = images(manifests)
    assert refs
    for ref in refs:
        assert ref, "empty image"
        name, _, tag = ref.rpartition(":")
        assert name and "/" not in tag, f"{ref}: no tag"
        assert tag and tag != "latest", f"{ref}: tag must be pinned"
        assert "@" not in ref or tag, ref
    assert "latest" not in json.dumps(manifests)


def test_resources_everywhere(manifests: list[Manifest]) -> None:
    for label, _, containers in pods(manifests):
        # Spark sizes its own container (the last) from the keys checked below
        for c in containers[:-1] if label.startswith("SparkApplication/") else containers:
            res = c.get("resources", {})
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(res.get(part, {})), f"{label}/{c['name']}: resources.{part} incomplete"
    spec = sparkapp(manifests)["spec"]
    for role in ("driver", "executor"):
        for key in ("cores", "coreRequest", "coreLimit", "memory", "memoryOverhead"):
            assert spec[role].get(key), f"SparkApplication {role}.{key} missing"
    assert spec["executor"]["instances"] >= 1


def test_recommended_labels(manifests: list[Manifest]) -> None:
    for obj in manifests:
        labels = obj["metadata"].get("labels", {})
        for key in (
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/managed-by",
            "app.kubernetes.io/part-of",
        ):
            assert key in labels, f"{obj['kind']}/{obj['metadata']['name']}: label {key} missing"
        assert labels["app.kubernetes.io/instance"] == RELEASE


# --- AWS vs LocalStack ---------------------------------------------------------------------

AWS_FILES = [p for p in CI_VALUES if is_aws_values(p)]
LOCAL_FILES = [p for p in CI_VALUES if not is_aws_values(p)]


@pytest.mark.parametrize("values_file", AWS_FILES, ids=[p.name for p in AWS_FILES])
def test_aws_mode_has_no_endpoint_and_no_keys(render: Render, values_file: Path) -> None:
    manifests = render(values_file)
    # the scripts in ConfigMaps mention these names; what counts is what reaches a container
    text = yaml.safe_dump_all([o for o in manifests if o["kind"] != "ConfigMap"])
    for forbidden in ("AWS_ENDPOINT_URL", *STATIC_KEYS, "localstack"):
        assert forbidden not in text, f"{forbidden} rendered in AWS mode"
    for label, _, containers in pods(manifests):
        for c in containers:
            env = env_map(c.get("env"))
            assert not {"AWS_ENDPOINT_URL", *STATIC_KEYS} & set(env), f"{label}/{c['name']}: {sorted(env)}"
    raw = values_file.read_text()
    for forbidden in STATIC_KEYS:
        assert forbidden not in raw


@pytest.mark.parametrize("values_file", AWS_FILES, ids=[p.name for p in AWS_FILES])
def test_aws_mode_uses_irsa(render: Render, values_file: Path) -> None:
    manifests = render(values_file)
    accounts = {s["metadata"]["name"]: s for s in by_kind(manifests, "ServiceAccount")}
    publisher_sa = one(manifests, "Deployment", PUBLISHER)["spec"]["template"]["spec"]["serviceAccountName"]
    spec = sparkapp(manifests)["spec"]
    for sa in (publisher_sa, spec["driver"]["serviceAccount"], spec["executor"]["serviceAccount"]):
        role_arn = accounts[sa]["metadata"].get("annotations", {}).get(IRSA, "")
        assert role_arn.startswith("arn:aws:iam::"), f"ServiceAccount {sa}: no IRSA annotation"


@pytest.mark.parametrize("values_file", LOCAL_FILES, ids=[p.name for p in LOCAL_FILES])
def test_localstack_mode_wires_endpoint(render: Render, values_file: Path) -> None:
    manifests = render(values_file)
    endpoint = f"http://{LOCALSTACK}:4566"
    svc = one(manifests, "Service", LOCALSTACK)
    assert svc["spec"]["ports"][0]["port"] == 4566
    envs = [env_map(container(one(manifests, "Deployment", PUBLISHER), "publisher")["env"])]
    app = sparkapp(manifests)
    envs += [env_map(spark_container(app, role)["env"]) for role in ("driver", "executor")]
    envs += [env_map(c["env"]) for c in spark_template(app, "driver")["initContainers"]]
    for env in envs:
        assert env["AWS_ENDPOINT_URL"] == endpoint
        assert env["AWS_ACCESS_KEY_ID"] == "test" and env["AWS_SECRET_ACCESS_KEY"] == "test"


def test_no_static_credentials_in_any_values_file() -> None:
    for path in [CHART / "values.yaml", *CHART.glob("ci/*.yaml"), *CHART.glob("charts/*/values.yaml")]:
        text = path.read_text()
        for forbidden in (*STATIC_KEYS, "aws_access_key_id", "secretAccessKey", "accessKeyId"):
            assert forbidden not in text, f"{path.relative_to(ROOT)} mentions {forbidden}"


# --- LocalStack ----------------------------------------------------------------------------


def test_localstack_deployment(kind_manifests: list[Manifest]) -> None:
    deploy = one(kind_manifests, "Deployment", LOCALSTACK)
    c = container(deploy, "localstack")
    assert c["image"] == "localstack/localstack:4.14.0"
    env = env_map(c["env"])
    assert env["SERVICES"] == "kinesis,s3"
    assert c["livenessProbe"]["httpGet"]["path"] == "/_localstack/health"
    init = next(m for m in c["volumeMounts"] if m["mountPath"] == "/etc/localstack/init/ready.d")
    vol = next(v for v in deploy["spec"]["template"]["spec"]["volumes"] if v["name"] == init["name"])
    assert vol["configMap"]["name"] == f"{LOCALSTACK}-init"
    assert vol["configMap"]["defaultMode"] & 0o111, "init script must be executable"
    # only the init hook in ready.d: LocalStack runs every script it finds there
    assert [i["path"] for i in vol["configMap"]["items"]] == ["01-create-resources.sh"]


def test_localstack_init_creates_stream_and_bucket_from_values(render: Render, tmp_path: Path) -> None:
    objs = render(
        CHART / "ci" / "default-values.yaml",
        sets=(
            "global.kinesis.streamName=news-feed",
            "global.kinesis.shardCount=3",
            "global.s3.bucketName=articles-out",
        ),
    )
    script = one(objs, "ConfigMap", f"{LOCALSTACK}-init")["data"]["01-create-resources.sh"]
    env = env_map(container(one(objs, "Deployment", LOCALSTACK), "localstack")["env"])
    assert (
        env["AP_STREAM_NAME"] == "news-feed"
        and env["AP_SHARD_COUNT"] == "3"
        and env["AP_BUCKET_NAME"] == "articles-out"
    )
    assert 'awslocal kinesis create-stream --stream-name "$AP_STREAM_NAME" --shard-count "$AP_SHARD_COUNT"' in script
    assert 'awslocal s3 mb "s3://$AP_BUCKET_NAME"' in script
    path = tmp_path / "init.sh"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0
    # the consumers agree with what the script creates
    pub_env = env_map(container(one(objs, "Deployment", PUBLISHER), "publisher")["env"])
    job_env = env_map(spark_container(sparkapp(objs), "driver")["env"])
    assert pub_env["KINESIS_STREAM_NAME"] == job_env["KINESIS_STREAM_NAME"] == "news-feed"
    assert pub_env["KINESIS_SHARD_COUNT"] == "3"
    assert job_env["S3_BUCKET_NAME"] == "articles-out"


def test_kind_nodeports_match_kind_config(kind_manifests: list[Manifest]) -> None:
    config = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    assert len(config["nodes"]) == 1
    mappings = {m["containerPort"]: m["hostPort"] for m in config["nodes"][0]["extraPortMappings"]}
    listen = {m["listenAddress"] for m in config["nodes"][0]["extraPortMappings"]}
    assert listen == {"127.0.0.1"}, "host ports must bind to loopback only"
    for name, host_port in ((LOCALSTACK, 14566), (PUBLISHER, 18000)):
        svc = one(kind_manifests, "Service", name)
        assert svc["spec"]["type"] == "NodePort"
        node_port = svc["spec"]["ports"][0]["nodePort"]
        assert 30000 <= node_port <= 32767
        assert mappings.get(node_port) == host_port, f"{name}: nodePort {node_port} not mapped to {host_port}"


# --- values conventions --------------------------------------------------------------------

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


@pytest.mark.parametrize("chart_dir", [CHART, *sorted(CHART.glob("charts/*"))], ids=lambda p: p.name)
def test_values_schema_is_strict(chart_dir: Path) -> None:
    schema = json.loads((chart_dir / "values.schema.json").read_text())
    assert schema["additionalProperties"] is False
    defaults = values_of(chart_dir / "values.yaml")
    assert set(defaults) <= set(schema["properties"])


@pytest.mark.parametrize("chart_dir", [CHART, *sorted(CHART.glob("charts/*"))], ids=lambda p: p.name)
def test_helpers_prefixed_with_chart_name(chart_dir: Path) -> None:
    name = yaml.safe_load((chart_dir / "Chart.yaml").read_text())["name"]
    for tpl in (chart_dir / "templates").glob("*.tpl"):
        for line in tpl.read_text().splitlines():
            if "define " in line:
                defined = line.split('"')[1]
                assert defined.startswith(f"{name}."), f"{tpl.name}: helper {defined} not prefixed with {name}."
