"""images/kube-router-np: kube-router built from source, run the way the kind node runs it.

Builds the image once (scripts/build-image.sh kube-router-np: needs Go; a cold compile takes
minutes, a cached one seconds), then checks what a user of the image notices: the binary is the
pinned release, its iptables writes with the backend the node uses (legacy or nft), it accepts the
DaemonSet's flags, and its cleanup command removes kube-router's leftovers and nothing else.
"""

from __future__ import annotations

import pytest
from image_support import Engine, build_go_image
from kube_router_np import container, flags, image, pinned

pytestmark = pytest.mark.images

# What iptables --version prints per backend of iptables-mode
BACKEND_LABEL = {"legacy": "(legacy)", "nft": "(nf_tables)"}
# Tools the firewall controller execs through the backend switch
SWITCHED_TOOLS = ("iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore")


@pytest.fixture(scope="module")
def kube_router_image(engine: Engine) -> str:
    return build_go_image(engine, "kube-router-np", image(), 1500)


def _sh(engine: Engine, img: str, script: str, *run_args: str) -> str:
    """Run a shell script in the image (own network namespace, the DaemonSet's capabilities)."""
    proc = engine.run("run", "--rm", "--network", "none", *run_args, "--entrypoint", "sh", img, "-c", script)
    return proc.stdout


def _net_admin(engine: Engine, img: str, script: str) -> str:
    return _sh(engine, img, script, "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW")


def test_binary_reports_the_pinned_version(engine: Engine, kube_router_image: str) -> None:
    proc = engine.run("run", "--rm", "--network", "none", kube_router_image, "--version")
    out = proc.stdout + proc.stderr
    version, built = pinned("KUBE_ROUTER_VERSION"), pinned("KUBE_ROUTER_BUILD_DATE")
    assert f"version {version}, built on {built}" in out, out
    label = engine.inspect(kube_router_image, '{{index .Config.Labels "org.opencontainers.image.version"}}')
    assert label == version


def test_no_backend_is_baked_into_the_image(engine: Engine, kube_router_image: str) -> None:
    # the choice is made on the node, on first use: a recorded one would override every node's
    assert _sh(engine, kube_router_image, "test -e /run/iptables-mode && echo baked || echo none").strip() == "none"


@pytest.mark.parametrize("backend", sorted(BACKEND_LABEL))
def test_iptables_follows_the_backend_kubelet_uses(engine: Engine, kube_router_image: str, backend: str) -> None:
    # kubelet marks its backend with a KUBE-IPTABLES-HINT chain in the mangle table
    script = f"iptables-{backend} -t mangle -N KUBE-IPTABLES-HINT; " + "; ".join(
        f"{tool} --version" for tool in SWITCHED_TOOLS
    )
    versions = _net_admin(engine, kube_router_image, script).splitlines()
    assert len(versions) == len(SWITCHED_TOOLS), versions
    for tool, line in zip(SWITCHED_TOOLS, versions, strict=True):
        # "iptables-save v1.8.9 (legacy)", "iptables-nft-save v1.8.9 (nf_tables)"
        family = tool.split("-")[0]
        assert line.split()[0].startswith(family) and line.endswith(BACKEND_LABEL[backend]), (tool, line)


def test_rules_land_in_the_backend_kubelet_uses(engine: Engine, kube_router_image: str) -> None:
    script = (
        "iptables-nft -t mangle -N KUBE-IPTABLES-HINT; iptables -N KUBE-ROUTER-INPUT; "
        "echo nft: $(iptables-nft-save | grep -c KUBE-ROUTER-INPUT); "
        "echo legacy: $(iptables-legacy-save | grep -c KUBE-ROUTER-INPUT)"
    )
    assert _net_admin(engine, kube_router_image, script).split() == ["nft:", "1", "legacy:", "0"]


def test_the_daemonset_flags_are_accepted(engine: Engine, kube_router_image: str) -> None:
    args = container()["args"]
    accepted = engine.run("run", "--rm", "--network", "none", kube_router_image, *args, "--help", check=False)
    assert accepted.returncode == 0, accepted.stderr[-2000:]
    usage = accepted.stdout + accepted.stderr
    for name in flags():
        assert f"--{name} " in usage, name
    # the same check refuses a flag kube-router does not know
    refused = engine.run(
        "run", "--rm", "--network", "none", kube_router_image, *args, "--run-firewal=true", check=False
    )
    assert refused.returncode != 0
    assert "unknown flag: --run-firewal" in refused.stdout + refused.stderr


def test_cleanup_removes_kube_routers_chains_and_ipsets_only(engine: Engine, kube_router_image: str) -> None:
    script = """
set -e
iptables -N KUBE-ROUTER-INPUT; iptables -N KUBE-POD-FW-ABC; iptables -N KUBE-NWPLCY-ABC; iptables -N KEEP-ME
iptables -I INPUT 1 -m comment --comment "kube-router netpol - TEST" -j KUBE-ROUTER-INPUT
iptables -A INPUT -j KEEP-ME
iptables -A KUBE-ROUTER-INPUT -j KUBE-POD-FW-ABC
iptables -A KUBE-POD-FW-ABC -j KUBE-NWPLCY-ABC
ipset create KUBE-SRC-ABC hash:ip; ipset create KUBE-DST-ABC hash:net; ipset create keep-me hash:ip
kube-router-np-cleanup
echo ---
iptables -S; ipset list -n
"""
    report, left = _net_admin(engine, kube_router_image, script).split("---\n")
    assert "iptables: removed 3 chains" in report and "ipset: destroyed 2 sets" in report, report
    assert left.splitlines() == [
        "-P INPUT ACCEPT",
        "-P FORWARD ACCEPT",
        "-P OUTPUT ACCEPT",
        "-N KEEP-ME",
        "-A INPUT -j KEEP-ME",
        "keep-me",
    ]
