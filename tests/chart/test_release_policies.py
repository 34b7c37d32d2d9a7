"""Release-wide rules every pod and values file keeps: non-root, pinned images, resources,
recommended labels, a 2-core node, settings the project's own parsers accept."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from chart_helpers import (
    CHART,
    CI_VALUES,
    PUBLISHER,
    RELEASE,
    ROOT,
    Manifest,
    Render,
    container,
    cpu_millis,
    deployment_spec,
    env_map,
    images,
    is_aws_values,
    one,
    pods,
    spark_container,
    sparkapp,
)

pytestmark = pytest.mark.chart


# The kind control plane's own pods (kube-apiserver 250m, controller-manager 200m, scheduler 100m,
# etcd 100m, 2x CoreDNS 100m, kube-router 10m, 90m to spare) and the Spark Operator (controller 50m,
# webhook 20m): the release must fit one 2-core node even though kind-config.yaml adds two workers.
CLUSTER_CPU_MILLIS = 1020


NODE_CPU_MILLIS = 2000


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
    # no `:latest` reference anywhere (scripts, env): the word alone is a metric's in the dashboard
    # (article_pipeline_kinesis_millis_behind_latest)
    assert not re.search(r":latest\b", json.dumps(manifests))


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


def test_node_size_documented() -> None:
    text = (ROOT / "charts" / "README.md").read_text()
    assert re.search(r"2 CPUs?, 8 GB", text), "charts/README.md must state the node size"
    values = (CHART / "charts" / "spark-job" / "values.yaml").read_text()
    assert "2-CPU, 8 GB" in values


# Pod Security Standards, "restricted" profile (what `make deploy` enforces on the release's namespace).
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip


def pod_specs(objs: list[Manifest]) -> list[tuple[str, dict[str, Any]]]:
    """(label, pod spec) of every pod the release makes, Spark's through their pod templates."""
    out = []
    for o in objs:
        name = f"{o['kind']}/{o['metadata']['name']}"
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            out.append((name, o["spec"]["template"]["spec"]))
        elif o["kind"] == "Pod":
            out.append((name, o["spec"]))
        elif o["kind"] == "SparkApplication":
            out += [(f"{name}/{role}", o["spec"][role]["template"]["spec"]) for role in ("driver", "executor")]
    return out


def restricted_violations(spec: dict[str, Any]) -> list[str]:
    """What in a pod spec the "restricted" Pod Security Standard refuses (Kubernetes 1.34)."""
    found = [f"{k}: true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    found += [
        f"volume {v['name']}: {kind}"
        for v in spec.get("volumes", [])
        for kind in set(v) - {"name"}
        if kind not in RESTRICTED_VOLUMES
    ]
    pod_sc = spec.get("securityContext", {})
    for c in spec.get("initContainers", []) + spec["containers"]:
        sc = c.get("securityContext", {})
        merged = {**pod_sc, **sc}
        where = f"container {c['name']}"
        if sc.get("privileged"):
            found.append(f"{where}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: allowPrivilegeEscalation not false")
        if merged.get("runAsNonRoot") is not True:
            found.append(f"{where}: runAsNonRoot not true")
        if merged.get("runAsUser") == 0:
            found.append(f"{where}: runAsUser 0")
        if merged.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
            found.append(f"{where}: seccompProfile not RuntimeDefault/Localhost")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            found.append(f"{where}: capabilities.drop lacks ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            found.append(f"{where}: capabilities.add {caps['add']}")
        found += [f"{where}: hostPort {p['hostPort']}" for p in c.get("ports", []) if p.get("hostPort")]
    return found


def test_every_pod_passes_pod_security_restricted(manifests: list[Manifest]) -> None:
    """`make deploy` labels the namespace `pod-security.kubernetes.io/enforce=restricted`: a pod that
    broke the profile would be refused by the API server (Spark's executors included)."""
    found = pod_specs(manifests)
    assert len(found) >= 4  # publisher, its test pod, driver, executor (+ LocalStack)
    for label, spec in found:
        assert not restricted_violations(spec), f"{label}: {restricted_violations(spec)}"


def test_restricted_check_catches_a_root_pod() -> None:
    spec = {
        "containers": [{"name": "c", "securityContext": {"runAsUser": 0}}],
        "volumes": [{"name": "h", "hostPath": {}}],
    }
    assert len(restricted_violations(spec)) >= 5


def test_make_deploy_labels_the_namespace_restricted() -> None:
    """Before the chart is installed, `make deploy` creates the namespace if needed and labels it for
    Pod Security "restricted" (enforce, warn, audit); `label --overwrite` makes a rerun a no-op."""
    dry = subprocess.run(
        ["make", "-s", "-n", "--no-print-directory", "-f", "mk/kind.mk", "deploy", "NAMESPACE=ns-x"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    label = [i for i, line in enumerate(lines) if " label namespace ns-x " in line]
    install = [i for i, line in enumerate(lines) if "upgrade --install" in line]
    assert label and install and label[0] < install[0], dry.stdout
    command = lines[label[0]]
    assert "--overwrite" in command
    for mode in ("enforce", "warn", "audit"):
        assert f"pod-security.kubernetes.io/{mode}=restricted" in command
    create = [i for i, line in enumerate(lines) if "create namespace ns-x" in line]
    assert create and create[0] < label[0], "the namespace must exist before it is labelled"
