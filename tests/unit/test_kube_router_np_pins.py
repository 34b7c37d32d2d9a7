"""kube-router's image, wrapper module and DaemonSet agree on what is pinned, and the DaemonSet
keeps the firewall-only flags and the small set of privileges that images/kube-router-np/README.md
relies on (v2.1.0's advisories are all in the controllers these flags turn off)."""

from __future__ import annotations

import re

import pytest
from kube_router_np import FOLDER, container, flags, image, manifest, pinned

pytestmark = pytest.mark.unit

# Oldest versions of the wrapper's bumped dependencies that clear govulncheck's fixable findings
# against v2.1.0 (README.md): a go.mod that drops below one of them brings a finding back.
BUMPED_AT_LEAST = {
    "golang.org/x/net": (0, 55, 0),
    "golang.org/x/text": (0, 39, 0),
    "google.golang.org/grpc": (1, 82, 1),
    "github.com/docker/docker": (25, 0, 13),
    "github.com/osrg/gobgp/v3": (3, 35, 0),
}


def _required(go_mod: str) -> dict[str, str]:
    """module -> version of every requirement of a go.mod (block and single-line forms)."""
    return dict(re.findall(r"^(?:require\s+|\t)(\S+) (v\S+)", go_mod, re.M))


def _semver(version: str) -> tuple[int, ...]:
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)", version)
    assert match, version
    return tuple(int(part) for part in match.groups())


def test_the_wrapper_module_builds_the_pinned_kube_router() -> None:
    module, version, module_sum = (
        pinned(n) for n in ("KUBE_ROUTER_MODULE", "KUBE_ROUTER_VERSION", "KUBE_ROUTER_MODULE_SUM")
    )
    go_mod = (FOLDER / "go.mod").read_text()
    assert _required(go_mod)[module] == version
    assert "\nreplace" not in go_mod, "a replace would build something else than the pinned modules"
    assert f"{module} {version} {module_sum}" in (FOLDER / "go.sum").read_text().splitlines()
    assert f'import _ "{module}/cmd/kube-router"' in (FOLDER / "tools.go").read_text()


@pytest.mark.parametrize("module", sorted(BUMPED_AT_LEAST))
def test_bumped_dependencies_stay_at_their_fixed_versions(module: str) -> None:
    have = _required((FOLDER / "go.mod").read_text())[module]
    assert _semver(have) >= BUMPED_AT_LEAST[module], f"{module} {have}"


def test_manifests_run_the_image_built_here() -> None:
    assert container()["image"] == image()
    assert container()["imagePullPolicy"] == "Never"
    (cleanup,) = manifest("cleanup-pod.yaml")["Pod"]["spec"]["containers"]
    assert cleanup["image"] == image()


def test_only_the_firewall_controller_runs() -> None:
    args = flags()
    assert args["run-firewall"] == "true"
    for controller in ("run-router", "run-service-proxy", "run-loadbalancer", "enable-ipv6"):
        assert args[controller] == "false", controller
    assert args["metrics-port"] == "0"


def test_privileges_are_net_admin_and_net_raw_in_the_host_network() -> None:
    pod = manifest()["DaemonSet"]["spec"]["template"]["spec"]
    security = container()["securityContext"]
    assert pod["hostNetwork"] is True
    assert "hostPID" not in pod
    assert security.get("privileged", False) is False
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]}
    mounts = {m["name"]: m["mountPath"] for m in container()["volumeMounts"]}
    host_paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
    assert mounts == {"xtables-lock": "/run/xtables.lock"} and host_paths == {"xtables-lock": "/run/xtables.lock"}


def test_probes_ask_the_health_port() -> None:
    port = int(flags()["health-port"])
    for probe in ("readinessProbe", "livenessProbe"):
        assert container()[probe]["httpGet"]["port"] == port, probe
        assert container()[probe]["httpGet"]["path"] == "/healthz", probe


def test_the_cluster_role_only_reads() -> None:
    role = manifest()["ClusterRole"]
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}
    resources = {res for rule in role["rules"] for res in rule["resources"]}
    assert {"pods", "namespaces", "networkpolicies"} <= resources
    binding = manifest()["ClusterRoleBinding"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kube-router-np", "namespace": "kube-system"}]
    assert manifest()["DaemonSet"]["metadata"]["namespace"] == "kube-system"


def test_the_service_range_is_kinds() -> None:
    # kind's kubeadm serviceSubnet; kube-router's own default (/12) would treat other addresses as services
    assert flags()["service-cluster-ip-range"] == "10.96.0.0/16"
