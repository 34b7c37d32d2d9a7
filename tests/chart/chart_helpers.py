"""Plain helpers shared by the chart tests (paths, values files, manifest lookups, the charts' scripts)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "article-pipeline"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
SUBCHARTS = sorted(p for p in (CHART / "charts").iterdir() if (p / "Chart.yaml").is_file())
RELEASE = "article-pipeline"
NAMESPACE = "article-pipeline"
KUBERNETES_VERSION = "1.34.0"  # the kind node (kind-config.yaml): v1.34.x

Manifest = dict[str, Any]


def values_of(path: Path) -> dict[str, Any]:
    """Parse a values file (empty file -> empty dict)."""
    return yaml.safe_load(path.read_text()) or {}


def is_aws_values(path: Path) -> bool:
    """A values file targets real AWS when it switches LocalStack off."""
    return values_of(path).get("localstack", {}).get("enabled") is False


def one(objs: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    """The single object of a kind (and name), failing clearly otherwise."""
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in found]}"
    return found[0]


def by_kind(objs: list[Manifest], kind: str) -> list[Manifest]:
    """All objects of a kind."""
    return [o for o in objs if o["kind"] == kind]


def env_map(env: list[dict[str, Any]] | None) -> dict[str, Any]:
    """EnvVar list -> {name: value}."""
    return {e["name"]: e.get("value") for e in env or []}


def pods(objs: list[Manifest]) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """Every pod the chart creates, directly or through the Spark Operator.

    Returns (label, pod securityContext, containers); a SparkApplication role counts as one pod,
    described by its pod template (`spec.<role>.template`: what spark-submit builds the pod from).
    """
    out: list[tuple[str, dict[str, Any], list[dict[str, Any]]]] = []
    for o in objs:
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            spec = o["spec"]["template"]["spec"]
            containers = spec.get("initContainers", []) + spec["containers"]
            out.append((f"{o['kind']}/{o['metadata']['name']}", spec.get("securityContext", {}), containers))
        elif o["kind"] == "Pod":
            spec = o["spec"]
            out.append((f"Pod/{o['metadata']['name']}", spec.get("securityContext", {}), spec["containers"]))
        elif o["kind"] == "SparkApplication":
            for role in ("driver", "executor"):
                r = o["spec"][role]
                spec = r.get("template", {}).get("spec", {})
                main = dict(spec.get("containers", [{}])[0])
                main.setdefault("image", r.get("image", o["spec"].get("image")))
                out.append(
                    (
                        f"SparkApplication/{o['metadata']['name']}/{role}",
                        spec.get("securityContext", {}),
                        [*spec.get("initContainers", []), main],
                    )
                )
    return out


def spark_template(app: Manifest, role: str) -> dict[str, Any]:
    """The pod spec of a SparkApplication role's template."""
    spec: dict[str, Any] = app["spec"][role]["template"]["spec"]
    return spec


def spark_container(app: Manifest, role: str) -> dict[str, Any]:
    """The Spark container of a role's template (the name spark-submit looks for)."""
    name = {"driver": "spark-kubernetes-driver", "executor": "spark-kubernetes-executor"}[role]
    found: list[dict[str, Any]] = [c for c in spark_template(app, role)["containers"] if c["name"] == name]
    assert len(found) == 1, f"{role}: no container {name} in the template"
    return found[0]


def images(objs: list[Manifest]) -> list[str]:
    """Every image reference in the rendered objects."""
    return [c["image"] for _, _, containers in pods(objs) for c in containers]


# --- shared by the tests of several templates ---------------------------------------------------

Render = Callable[..., list[Manifest]]
Helm = Callable[..., subprocess.CompletedProcess[str]]
PUBLISHER = f"{RELEASE}-publisher"
LOCALSTACK = f"{RELEASE}-localstack"
SPARK_APP = f"{RELEASE}-spark-job"
KIND_VALUES = CHART / "ci" / "kind-values.yaml"
AWS_VALUES = CHART / "ci" / "aws-values.yaml"


def container(deploy: Manifest, name: str) -> dict[str, Any]:
    """A named container of a Deployment."""
    found: dict[str, Any] = next(c for c in deploy["spec"]["template"]["spec"]["containers"] if c["name"] == name)
    return found


def sparkapp(objs: list[Manifest]) -> Manifest:
    """The job's SparkApplication."""
    return one(objs, "SparkApplication", SPARK_APP)


def deployment_spec(objs: list[Manifest], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = one(objs, "Deployment", name)["spec"]["template"]["spec"]
    return spec


def named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [i for i in items if i["name"] == name]
    assert len(found) == 1, f"no {name} in {[i['name'] for i in items]}"
    return found[0]


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


# The charts' scripts, run for real against moto_server by the tests of the charts' files/.
WAIT = CHART / "charts" / "spark-job" / "files" / "wait_for_aws.py"
GUARD = CHART / "charts" / "spark-job" / "files" / "checkpoint_guard.py"
READY = CHART / "charts" / "localstack" / "files" / "ready.py"


def run(script: Path, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script)], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout
    )


def events(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def create_stream(kinesis: Any, name: str) -> None:
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})


def recreate_stream(kinesis: Any, name: str) -> None:
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    time.sleep(0.01)  # a creation time of its own
    create_stream(kinesis, name)


STATIC_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


AWS_FILES = [p for p in CI_VALUES if is_aws_values(p)]


LOCAL_FILES = [p for p in CI_VALUES if not is_aws_values(p)]


def template_text(run_helm: Helm, *args: str) -> str:
    """`helm template` of the umbrella chart as text (comments kept), with extra arguments."""
    result = run_helm(
        "template", RELEASE, str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBERNETES_VERSION, *args
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def document_text(text: str, kind: str, name: str) -> str:
    """The YAML text (comments kept) of the one rendered object of that kind and name."""
    found = [
        chunk
        for chunk in re.split(r"(?m)^---\s*$", text)
        if (obj := yaml.safe_load(chunk)) and obj["kind"] == kind and obj["metadata"]["name"] == name
    ]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def uncommented_verbs(role_text: str) -> list[str]:
    """The verbs of a Role's YAML text that have no comment line right above them (block lists only:
    a flow list `verbs: [...]` leaves no room for a comment per verb, so its verbs all count)."""
    bare: list[str] = []
    lines = role_text.splitlines()
    verbs_indent: int | None = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped.startswith("verbs:"):
            flow = stripped.partition(":")[2].strip()
            if flow:
                bare += [v.strip(" \"'") for v in flow.strip("[]").split(",") if v.strip()]
                verbs_indent = None
            else:
                verbs_indent = indent
            continue
        if verbs_indent is None or not stripped or stripped.startswith("#"):
            continue
        if indent < verbs_indent or (indent == verbs_indent and not stripped.startswith("- ")):
            verbs_indent = None
            continue
        if stripped.startswith("- ") and not lines[i - 1].strip().startswith("#"):
            bare.append(stripped[2:].strip())
    return bare


def strict(schema: Any) -> Any:
    """Reject unknown fields like the API server's strict field validation does.

    Structural CRD schemas prune unknown fields silently; here every object schema with
    `properties` and no `additionalProperties`/preserve-unknown-fields gets additionalProperties: false.
    """
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema
