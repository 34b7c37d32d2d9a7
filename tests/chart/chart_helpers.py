"""Plain helpers shared by the chart tests (paths, values files, manifest lookups)."""

from __future__ import annotations

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
    found = [c for c in spark_template(app, role)["containers"] if c["name"] == name]
    assert len(found) == 1, f"{role}: no container {name} in the template"
    return found[0]


def images(objs: list[Manifest]) -> list[str]:
    """Every image reference in the rendered objects."""
    return [c["image"] for _, _, containers in pods(objs) for c in containers]
