"""Plumbing of the kind tier: the cluster's names, commands run from the repository root, kubectl and
helm aimed at the test's context, polling with a deadline, and the Spark application's state."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = os.environ.get("KIND_CLUSTER", "article-pipeline")
CONTEXT = f"kind-{CLUSTER}"
NAMESPACE = os.environ.get("NAMESPACE", "article-pipeline")
RELEASE = os.environ.get("RELEASE", "article-pipeline")
APP = f"{RELEASE}-spark-job"
DRIVER = f"{APP}-driver"
PUBLISHER = f"{RELEASE}-publisher"
CHART = ROOT / "charts" / "article-pipeline"
STREAM, BUCKET = "articles", "my-bucket"  # ci/kind-values.yaml and ci/default-values.yaml
CHECKPOINTS = f"s3://{BUCKET}/checkpoints"  # spark-job.checkpoint.location in both
LOCALSTACK_URL = "http://127.0.0.1:14566"  # kind-config.yaml: 127.0.0.1:14566 -> NodePort 30566
PUBLISHER_ADDRESS = ("127.0.0.1", 18000)  # kind-config.yaml: 127.0.0.1:18000 -> NodePort 30800
HELM = ROOT / ".tools" / "bin" / "helm"
KUBECTL = ROOT / ".tools" / "bin" / "kubectl"
NODE_IMAGE = "localhost/article-pipeline/kind-node:v1.34.4"
T = TypeVar("T")


def _engine() -> str | None:
    for engine in ("docker", "podman"):
        if shutil.which(engine) is None:
            continue
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            if subprocess.run([engine, "info"], capture_output=True, timeout=60).returncode == 0:
                return engine
    return None


ENGINE = _engine()


@dataclass
class Report:
    """Step timings and the figures measured on the way, printed as they happen.

    Figures: seconds from install to the first row and to recover from each kill, row counts.
    """

    steps: list[tuple[str, float]] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def say(self, text: str) -> None:
        print(f"[kind e2e +{time.monotonic() - self.started:7.1f}s] {text}", flush=True)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.say(f"step: {name} ...")
        t0 = time.monotonic()
        yield
        seconds = time.monotonic() - t0
        self.steps.append((name, seconds))
        self.say(f"step: {name} done in {seconds:.1f}s")

    def record(self, key: str, value: Any) -> None:
        self.numbers[key] = value
        self.say(f"{key} = {value}")

    def summary(self) -> str:
        width = max((len(n) for n, _ in self.steps), default=10)
        lines = [f"  {name:<{width}}  {seconds:8.1f}s" for name, seconds in self.steps]
        lines += [f"  {key}: {value}" for key, value in self.numbers.items()]
        return "kind e2e summary:\n" + "\n".join(lines)


def run(
    *cmd: str | Path,
    timeout: float = 600,
    check: bool = True,
    env: dict[str, str] | None = None,
    exit_codes: tuple[int, ...] = (0,),
) -> str:
    """Run a command from the repository root; with `check`, an exit code outside `exit_codes`
    raises with its output."""
    result = subprocess.run(
        [str(c) for c in cmd],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode not in exit_codes:
        raise AssertionError(
            f"`{' '.join(map(str, cmd))}` exited {result.returncode}:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
        )
    return result.stdout


def make(*targets: str, timeout: float = 3600) -> str:
    return run(
        "make", *targets, f"KIND_CLUSTER={CLUSTER}", f"NAMESPACE={NAMESPACE}", f"RELEASE={RELEASE}", timeout=timeout
    )


def kubectl(*args: str, timeout: float = 120, check: bool = True, exit_codes: tuple[int, ...] = (0,)) -> str:
    return run(
        KUBECTL, "--context", CONTEXT, "-n", NAMESPACE, *args, timeout=timeout, check=check, exit_codes=exit_codes
    )


def helm(*args: str, timeout: float = 900) -> str:
    return run(HELM, "--kube-context", CONTEXT, "-n", NAMESPACE, *args, timeout=timeout)


def wait_for(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 3.0) -> T:
    """Poll `probe` until it returns something truthy; fail with the last error at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = probe()
            if result:
                return result
            last = result
        except Exception as error:
            last = error
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}"[:4000])
        time.sleep(interval)


def get_json(*args: str) -> Any:
    return json.loads(kubectl("get", *args, "-o", "json"))


def app_state() -> str:
    app = get_json("sparkapplication", APP)
    return str(app.get("status", {}).get("applicationState", {}).get("state", ""))


def driver_pod() -> dict[str, Any] | None:
    pods = get_json("pods", "-l", f"spark-role=driver,sparkoperator.k8s.io/app-name={APP}")["items"]
    running = [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
    return running[0] if running else None


def app_status() -> dict[str, Any]:
    status: dict[str, Any] = get_json("sparkapplication", APP).get("status", {})
    return status


def rows_batches(uid: str) -> list[dict[str, Any]]:
    """The "batch_completed" lines with input rows in the log of the driver pod `uid` (empty if it is gone)."""
    pod = driver_pod()
    if pod is None or pod["metadata"]["uid"] != uid:
        return []
    lines = kubectl("logs", DRIVER, "-c", "spark-kubernetes-driver").splitlines()
    found = [json.loads(x) for x in lines if x.startswith("{") and '"batch_completed"' in x]
    return [b for b in found if b.get("input_rows")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def json_at(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@contextlib.contextmanager
def port_forward(target: str, remote_port: int, namespace: str = NAMESPACE) -> Iterator[str]:
    """`kubectl port-forward` of `target` (`pod/...`, `svc/...`) to a free 127.0.0.1 port while the
    block runs; yields its base URL, http://127.0.0.1:<port>."""
    port = free_port()
    forward = subprocess.Popen(
        [KUBECTL, "--context", CONTEXT, "-n", namespace, "port-forward", "--address", "127.0.0.1",
         target, f"{port}:{remote_port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        forward.terminate()
        forward.wait(timeout=30)


# `kubectl exec`'s exit code when the container stops under the command: the runtime kills what is
# left in it, the command's shell included.
EXEC_KILLED_WITH_CONTAINER = 137


def exec_in_driver(command: str, stops_container: bool = False) -> None:
    """Run the shell `command` in the driver container. A command that stops the container may be
    killed with it before it returns (exit 137, a race): with `stops_container` that is success."""
    exit_codes = (0, EXEC_KILLED_WITH_CONTAINER) if stops_container else (0,)
    kubectl(
        "exec", DRIVER, "-c", "spark-kubernetes-driver", "--", "bash", "-c", command, timeout=60, exit_codes=exit_codes
    )


def signal_java(signal: str) -> None:
    """Send `signal` (KILL, STOP, CONT) to the driver container's JVM (not PID 1 nor the Python driver)."""
    command = (
        'for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = java ] '
        f'&& kill -{signal} "${{d#/proc/}}"; done; true'
    )
    exec_in_driver(command, stops_container=signal == "KILL")
