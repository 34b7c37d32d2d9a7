"""Deny by default, seen from inside the cluster and from the host, as an attacker or a slow client would.

- Pods outside the release (one in its namespace, one in another) try TCP connections to the driver's UI,
  RPC and block-manager ports, LocalStack and the publisher: every one is refused by the NetworkPolicies.
  The same probe from an allowed peer connects, so the ports are open and the probe can tell.
- A kill request to the driver's UI (reached the documented way: a port-forward to the driver pod) leaves
  the job running: the jobs it names finish, the query keeps completing batches.
- Connections to the publisher that send one byte and stall leave its probes answering: no restart.
"""

from __future__ import annotations

import contextlib
import json
import socket
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

from kind_testing import (
    APP,
    CONTEXT,
    DRIVER,
    KUBECTL,
    NAMESPACE,
    PUBLISHER,
    PUBLISHER_ADDRESS,
    RELEASE,
    Report,
    app_state,
    driver_pod,
    get_json,
    http_status,
    json_at,
    kubectl,
    port_forward,
    rows_batches,
    run,
    wait_for,
)

OUTSIDER = "np-outsider"
OTHER_NAMESPACE = "np-outsider"
# One TCP connection attempt: prints open, refused (what a kube-router REJECT gives), timeout or the error.
TCP_PROBE = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
    print("open")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
except OSError as error:
    print(type(error).__name__)
"""


def tcp_probe(pod: str, namespace: str, host: str, port: int, container: str | None = None) -> str:
    """Whether `pod` can open a TCP connection to host:port ("open", "refused", "timeout", ...)."""
    which = ["-c", container] if container else []
    out = run(
        KUBECTL, "--context", CONTEXT, "-n", namespace, "exec", pod, *which, "--",
        "python3", "-c", TCP_PROBE, host, str(port),
        timeout=60,
    )  # fmt: skip
    return out.strip()


def outsider_pod(namespace: str, image: str) -> dict[str, Any]:
    """A pod with none of the release's labels, allowed by Pod Security "restricted"."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": OUTSIDER, "namespace": namespace, "labels": {"app": OUTSIDER}},
        "spec": {
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "probe",
                    "image": image,
                    "command": ["sleep", "infinity"],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "readOnlyRootFilesystem": True,
                    },
                }
            ],
        },
    }


@contextlib.contextmanager
def outsiders() -> Iterator[list[str]]:
    """Outsider pods in the release's namespace and in another one (the publisher's image: it has Python)."""
    image = get_json("deployment", PUBLISHER)["spec"]["template"]["spec"]["containers"][0]["image"]
    namespaces = [NAMESPACE, OTHER_NAMESPACE]
    run(KUBECTL, "--context", CONTEXT, "create", "namespace", OTHER_NAMESPACE, check=False)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as manifest:
        json.dump(
            {"apiVersion": "v1", "kind": "List", "items": [outsider_pod(ns, image) for ns in namespaces]}, manifest
        )
        manifest.flush()
        run(KUBECTL, "--context", CONTEXT, "apply", "-f", manifest.name)
    try:
        for namespace in namespaces:
            run(
                KUBECTL, "--context", CONTEXT, "-n", namespace, "wait", "--for=condition=Ready",
                f"pod/{OUTSIDER}", "--timeout=180s",
                timeout=200,
            )  # fmt: skip
        yield namespaces
    finally:
        for namespace in namespaces:
            run(
                KUBECTL, "--context", CONTEXT, "-n", namespace, "delete", "pod", OUTSIDER,
                "--ignore-not-found", "--grace-period=0", "--force", "--wait=true",
                timeout=120, check=False,
            )  # fmt: skip
        run(KUBECTL, "--context", CONTEXT, "delete", "namespace", OTHER_NAMESPACE, "--wait=false", check=False)


def driver_ports(pod: dict[str, Any]) -> dict[str, int]:
    """The driver container's named ports (the UI, the RPC endpoint, the block manager)."""
    container = next(c for c in pod["spec"]["containers"] if c["name"] == "spark-kubernetes-driver")
    return {p["name"]: int(p["containerPort"]) for p in container.get("ports", [])}


def cluster_ip(service: str) -> str:
    return str(get_json("service", service)["spec"]["clusterIP"])


def outsiders_are_refused(report: Report) -> None:
    """Every target refuses the outsiders; the allowed peers reach the same ports."""
    pod = driver_pod()
    assert pod is not None
    driver_ip = pod["status"]["podIP"]
    ports = driver_ports(pod)
    for name in ("spark-ui", "driver-rpc-port", "blockmanager"):
        assert name in ports, f"the driver pod has no {name} port: {ports}"
    localstack = (cluster_ip(f"{RELEASE}-localstack"), 4566)
    publisher = (cluster_ip(PUBLISHER), 8000)
    targets = {
        "driver UI": (driver_ip, ports["spark-ui"]),
        "driver RPC": (driver_ip, ports["driver-rpc-port"]),
        "driver block manager": (driver_ip, ports["blockmanager"]),
        "LocalStack": localstack,
        "publisher": publisher,
    }
    # the probe can tell: allowed peers connect to the same ports
    executor = get_json("pods", "-l", f"spark-role=executor,sparkoperator.k8s.io/app-name={APP}")
    executor_name = executor["items"][0]["metadata"]["name"]
    publisher_pod = kubectl("get", "pods", "-l", f"app.kubernetes.io/name=publisher,app.kubernetes.io/instance={RELEASE}",
                            "-o", "jsonpath={.items[0].metadata.name}")  # fmt: skip
    allowed = {
        "executor -> driver RPC": tcp_probe(executor_name, NAMESPACE, *targets["driver RPC"]),
        "publisher -> LocalStack": tcp_probe(publisher_pod, NAMESPACE, *localstack, container="publisher"),
    }
    report.record("allowed peers", allowed)
    assert set(allowed.values()) == {"open"}, f"an allowed peer could not connect: {allowed}"

    with outsiders() as namespaces:
        seen = {
            f"{namespace}/{OUTSIDER} -> {target}": tcp_probe(OUTSIDER, namespace, host, port)
            for namespace in namespaces
            for target, (host, port) in targets.items()
        }
    report.record("outsider probes", seen)
    reached = [probe for probe, result in seen.items() if result == "open"]
    assert not reached, f"pods outside the allow-list reached: {reached}"


def ui_kill_changes_nothing(report: Report) -> None:
    """POST the UI's kill for the running jobs of the query; they finish and batches go on."""
    pod = driver_pod()
    assert pod is not None
    uid = pod["metadata"]["uid"]
    with port_forward(f"pod/{DRIVER}", driver_ports(pod)["spark-ui"]) as ui:
        wait_for(
            lambda: http_status(f"{ui}/api/v1/applications") == 200, 120, "the driver UI through a port-forward", 2
        )
        app_id = json_at(f"{ui}/api/v1/applications")[0]["id"]
        jobs_api = f"{ui}/api/v1/applications/{app_id}/jobs"

        def kill_running() -> list[int]:
            running = [int(j["jobId"]) for j in json_at(f"{jobs_api}?status=running")]
            for job in running:
                request = urllib.request.Request(f"{ui}/jobs/job/kill/?id={job}", method="POST")
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(request, timeout=10).close()
            return running

        killed = wait_for(kill_running, 180, "a running job of the query to send a kill request for", 0.2)
        batches_before = len(rows_batches(uid))

        def finished() -> dict[int, str] | None:
            status = {job: str(json_at(f"{jobs_api}/{job}")["status"]) for job in killed}
            return status if "RUNNING" not in status.values() else None

        outcome = wait_for(finished, 300, f"jobs {killed} to finish", 2)
    report.record("UI kill requests: jobs and how they ended", outcome)
    assert set(outcome.values()) == {"SUCCEEDED"}, f"a job ended otherwise after the UI kill request: {outcome}"
    wait_for(lambda: len(rows_batches(uid)) > batches_before, 300, "batches with rows after the kill request", 3)
    assert app_state() == "RUNNING"
    log = kubectl("logs", DRIVER, "-c", "spark-kubernetes-driver")
    assert "killed via Web UI" not in log, "the driver log shows a job killed through the UI"


def publisher_restarts() -> int:
    pods = get_json("pods", "-l", f"app.kubernetes.io/name=publisher,app.kubernetes.io/instance={RELEASE}")["items"]
    return sum(s.get("restartCount", 0) for p in pods for s in p["status"].get("containerStatuses", []))


def stalled_clients_leave_probes_alone(report: Report, clients: int = 8) -> None:
    """Hold `clients` connections that sent one byte for longer than liveness allows to fail; the probes
    and a new client are still served, and the publisher does not restart."""
    probe = get_json("deployment", PUBLISHER)["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    hold = probe["periodSeconds"] * probe.get("failureThreshold", 3) + probe["periodSeconds"]
    restarts = publisher_restarts()
    stalled = []
    try:
        for _ in range(clients):
            connection = socket.create_connection(PUBLISHER_ADDRESS, timeout=5)
            connection.sendall(b"G")
            stalled.append(connection)
        slowest = 0.0
        deadline = time.monotonic() + hold
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            status = http_status(f"http://{PUBLISHER_ADDRESS[0]}:{PUBLISHER_ADDRESS[1]}/health/live")
            slowest = max(slowest, time.monotonic() - t0)
            assert status == 200, f"/health/live answered {status} with {clients} stalled connections open"
            time.sleep(2)
    finally:
        for connection in stalled:
            connection.close()
    report.record(
        f"{clients} stalled connections held {hold} s",
        {"slowest /health/live seconds": round(slowest, 3), "publisher restarts": publisher_restarts() - restarts},
    )
    assert publisher_restarts() == restarts, "the publisher restarted while slow clients held connections"
    kubectl("rollout", "status", f"deploy/{PUBLISHER}", "--timeout=60s", timeout=90)
