"""End to end on kind: cluster, images, Spark Operator, chart, data in LocalStack, clean uninstall.

Drives the Make targets in mk/kind.mk (run with `make -f mk/kind.mk`, so this works with or
without the top-level Makefile) and checks the cluster with the `kubernetes` Python client.
Runs only where `docker` (with a working engine) and `kind` exist; skipped elsewhere.
Reuses an existing cluster named $KIND_CLUSTER (e.g. one made by helm/kind-action) and only
deletes a cluster it created itself (set KIND_E2E_KEEP=1 to keep it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = os.environ.get("KIND_CLUSTER", "article-pipeline")
CONTEXT = f"kind-{CLUSTER}"
NAMESPACE = os.environ.get("NAMESPACE", "article-pipeline")
RELEASE = os.environ.get("RELEASE", "article-pipeline")
IMAGES = ("article-pipeline/publisher:0.1.0", "article-pipeline/spark-job:0.1.0")
BUCKET = "my-bucket"  # charts/article-pipeline/ci/default-values.yaml
LOCALSTACK_URL = "http://127.0.0.1:4566"  # kind-config.yaml host port -> LocalStack NodePort
T = TypeVar("T")


def _docker_engine_ok() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _skip_reason() -> str | None:
    if shutil.which("docker") is None:
        return "docker CLI not found"
    if not _docker_engine_ok():
        return "docker engine not reachable (`docker info` fails)"
    if shutil.which(os.environ.get("KIND", "kind")) is None:
        return "kind not found"
    return None


SKIP_REASON = _skip_reason()
pytestmark = [
    pytest.mark.kind,
    pytest.mark.skipif(SKIP_REASON is not None, reason=f"kind e2e needs docker + kind: {SKIP_REASON}"),
]


def wait_for(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 3.0) -> T:
    """Poll `probe` until it returns something truthy or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = probe()
            if result:
                return result
        except Exception as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last error: {last_error!r}")
        time.sleep(interval)


def make(*targets: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """Run targets of mk/kind.mk; fail the test with the output if they fail."""
    result = subprocess.run(
        [
            "make",
            "-f",
            "mk/kind.mk",
            *targets,
            f"KIND_CLUSTER={CLUSTER}",
            f"NAMESPACE={NAMESPACE}",
            f"RELEASE={RELEASE}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"make {' '.join(targets)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def kind_clusters() -> list[str]:
    out = subprocess.run([os.environ.get("KIND", "kind"), "get", "clusters"], capture_output=True, text=True)
    return out.stdout.split()


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A kind cluster with the images loaded, the Spark Operator and the chart installed."""
    created = CLUSTER not in kind_clusters()
    if created:
        make("kind-up", timeout=600)
    for image in IMAGES:
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
            build = subprocess.run(
                ["bash", "scripts/build-images.sh"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=3600,
                env={**os.environ, "CONTAINER_ENGINE": "docker"},
            )
            assert build.returncode == 0, f"image build failed:\n{build.stdout}\n{build.stderr}"
            break
    make("k8s-tools", "kind-load", "operator", timeout=1200)
    make("deploy", timeout=1200)
    try:
        yield CLUSTER
    finally:
        if created and not os.environ.get("KIND_E2E_KEEP"):
            make("kind-down", timeout=300)


@pytest.fixture(scope="module")
def api(cluster: str) -> Any:
    """Kubernetes API clients for the kind context."""
    from kubernetes import client, config

    config.load_kube_config(context=CONTEXT)
    return client


def test_images_loaded_into_node(cluster: str) -> None:
    out = subprocess.run(
        ["docker", "exec", f"{cluster}-control-plane", "crictl", "images"], capture_output=True, text=True, check=True
    ).stdout
    for image in IMAGES:
        repo, tag = image.split(":")
        assert any(repo in line and tag in line for line in out.splitlines()), f"{image} not in the node"


def test_operator_and_workloads_available(api: Any) -> None:
    apps = api.AppsV1Api()

    def available(namespace: str, selector: str) -> bool:
        deps = apps.list_namespaced_deployment(namespace, label_selector=selector).items
        return bool(deps) and all((d.status.available_replicas or 0) >= 1 for d in deps)

    wait_for(
        lambda: available("spark-operator", "app.kubernetes.io/instance=spark-operator"),
        300,
        "the Spark Operator deployments",
    )
    wait_for(
        lambda: available(NAMESPACE, f"app.kubernetes.io/instance={RELEASE}"),
        600,
        "publisher and LocalStack deployments",
    )


def test_sparkapplication_running(api: Any) -> None:
    custom = api.CustomObjectsApi()
    name = f"{RELEASE}-spark-job"

    def state() -> bool:
        app = custom.get_namespaced_custom_object(
            "sparkoperator.k8s.io", "v1beta2", NAMESPACE, "sparkapplications", name
        )
        return app.get("status", {}).get("applicationState", {}).get("state") == "RUNNING"

    wait_for(state, 900, f"SparkApplication {name} to be RUNNING", interval=5)
    core = api.CoreV1Api()
    driver = core.read_namespaced_pod(f"{name}-driver", NAMESPACE)
    claims = [v.persistent_volume_claim.claim_name for v in driver.spec.volumes if v.persistent_volume_claim]
    assert f"{name}-checkpoints" in claims
    assert driver.spec.security_context.run_as_non_root is True


def _http_get_via_port_forward(api: Any, pod: str, port: int, path: str) -> int:
    from kubernetes.stream import portforward

    core = api.CoreV1Api()
    pf = portforward(core.connect_get_namespaced_pod_portforward, pod, NAMESPACE, ports=str(port))
    try:
        sock = pf.socket(port)
        sock.setblocking(True)
        sock.settimeout(10)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return int(data.split(b" ", 2)[1])
    except (TimeoutError, OSError, IndexError, ValueError):
        return 0
    finally:
        pf.close()


def test_health_200_through_port_forward(api: Any) -> None:
    core = api.CoreV1Api()
    pods = core.list_namespaced_pod(
        NAMESPACE, label_selector=f"app.kubernetes.io/name=publisher,app.kubernetes.io/instance={RELEASE}"
    ).items
    assert pods, "no publisher pod"
    name = pods[0].metadata.name
    wait_for(lambda: _http_get_via_port_forward(api, name, 8000, "/health") == 200, 300, "publisher /health 200")
    assert _http_get_via_port_forward(api, name, 8000, "/health/live") == 200
    make("health", timeout=120)  # the user-facing target: kubectl port-forward svc + curl


def test_parquet_lands_in_localstack_s3(cluster: str) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=LOCALSTACK_URL,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )

    def parquet_keys() -> list[str]:
        listing = s3.list_objects_v2(Bucket=BUCKET, Prefix="enriched_articles/")
        return [o["Key"] for o in listing.get("Contents", []) if o["Key"].endswith(".parquet")]

    keys = wait_for(parquet_keys, 900, f"Parquet objects under s3://{BUCKET}/enriched_articles/", interval=10)
    assert keys


def test_uninstall_leaves_nothing(api: Any) -> None:
    make("undeploy", timeout=600)
    core, apps, rbac = api.CoreV1Api(), api.AppsV1Api(), api.RbacAuthorizationV1Api()
    custom = api.CustomObjectsApi()

    def leftovers() -> list[str]:
        found = [f"pod/{p.metadata.name}" for p in core.list_namespaced_pod(NAMESPACE).items]
        found += [f"pvc/{p.metadata.name}" for p in core.list_namespaced_persistent_volume_claim(NAMESPACE).items]
        found += [f"svc/{s.metadata.name}" for s in core.list_namespaced_service(NAMESPACE).items]
        found += [
            f"cm/{c.metadata.name}"
            for c in core.list_namespaced_config_map(NAMESPACE).items
            if c.metadata.name != "kube-root-ca.crt"
        ]
        found += [
            f"sa/{s.metadata.name}"
            for s in core.list_namespaced_service_account(NAMESPACE).items
            if s.metadata.name != "default"
        ]
        found += [f"deploy/{d.metadata.name}" for d in apps.list_namespaced_deployment(NAMESPACE).items]
        found += [f"role/{r.metadata.name}" for r in rbac.list_namespaced_role(NAMESPACE).items]
        found += [f"rolebinding/{r.metadata.name}" for r in rbac.list_namespaced_role_binding(NAMESPACE).items]
        apps_left = custom.list_namespaced_custom_object(
            "sparkoperator.k8s.io", "v1beta2", NAMESPACE, "sparkapplications"
        )["items"]
        found += [f"sparkapplication/{a['metadata']['name']}" for a in apps_left]
        return found

    wait_for(lambda: not leftovers(), 300, f"namespace {NAMESPACE} to be empty")
    assert leftovers() == []
    releases = subprocess.run(
        [str(ROOT / ".tools/bin/helm"), "--kube-context", CONTEXT, "list", "-n", NAMESPACE, "-q"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert RELEASE not in releases
