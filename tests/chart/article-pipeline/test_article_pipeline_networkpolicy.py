"""The release's NetworkPolicies (templates/networkpolicy/): every pod denied by default, then exactly
the allows the pipeline needs. A small evaluator of NetworkPolicy semantics (selectors, ipBlocks,
ports; a connection passes when the sender's policies allow it out and the receiver's allow it in)
checks the whole matrix of who reaches whom, rather than the YAML's shape."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from chart_helpers import (
    AWS_VALUES,
    CHART,
    CI_VALUES,
    KIND_VALUES,
    NAMESPACE,
    RELEASE,
    Helm,
    Manifest,
    Render,
    by_kind,
    sparkapp,
    template_text,
)

pytestmark = pytest.mark.chart

DEFAULT_VALUES = CHART / "ci" / "default-values.yaml"
KIND_NODE_NETWORK = "10.89.0.0/24"  # what scripts/kind/node-network.sh prints under podman
KIND_HOST = "10.89.0.1"  # the podman network's gateway: the host's packets through the NodePorts
KIND_SET = (f"networkPolicy.ingressFrom[0].ipBlock.cidr={KIND_NODE_NETWORK}",)
MONITORING_SET = (
    "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
)
PORTS = (53, 443, 4040, 4566, 6443, 7078, 7079, 8000, 8080, 9404, 9500)


@dataclass(frozen=True)
class Endpoint:
    """A pod (labels, namespace) or an address outside the cluster (no labels, namespace None)."""

    name: str
    ip: str
    labels: tuple[tuple[str, str], ...] = ()
    namespace: str | None = NAMESPACE
    ns_labels: tuple[tuple[str, str], ...] = field(default=())

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def ns_label_map(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace or "", **dict(self.ns_labels)}


def pod(name: str, ip: str, labels: dict[str, str], namespace: str = NAMESPACE) -> Endpoint:
    return Endpoint(name, ip, tuple(sorted(labels.items())), namespace)


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label selector semantics (an empty selector matches everything)."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[op]
        if not ok:
            return False
    return True


def peer_matches(peer: dict[str, Any], other: Endpoint) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        addr = ipaddress.ip_address(other.ip)
        return addr in ipaddress.ip_network(block["cidr"]) and not any(
            addr in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if other.namespace is None:  # outside the cluster: only ipBlocks match
        return False
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], other.ns_label_map):
            return False
    elif other.namespace != NAMESPACE:
        return False
    return matches(peer.get("podSelector", {}), other.label_map)


def port_matches(rule: dict[str, Any], port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in ports)


def selects(policy: Manifest, endpoint: Endpoint) -> bool:
    return endpoint.namespace == NAMESPACE and matches(policy["spec"]["podSelector"], endpoint.label_map)


def types(policy: Manifest) -> list[str]:
    spec = policy["spec"]
    return spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"])


def allows(policies: list[Manifest], direction: str, me: Endpoint, other: Endpoint, port: int, proto: str) -> bool:
    """Whether `me` may send to (Egress) or receive from (Ingress) `other`: not isolated in that
    direction, or one of the policies selecting it has a rule for that peer and port."""
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    mine = [p for p in policies if selects(p, me) and direction in types(p)]
    if not mine:
        return True
    for p in mine:
        for rule in p["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(peer_matches(peer, other) for peer in peers)) and port_matches(rule, port, proto):
                return True
    return False


def connects(policies: list[Manifest], src: Endpoint, dst: Endpoint, port: int, proto: str = "TCP") -> bool:
    return allows(policies, "Egress", src, dst, port, proto) and allows(policies, "Ingress", dst, src, port, proto)


def policies_of(objs: list[Manifest]) -> list[Manifest]:
    return by_kind(objs, "NetworkPolicy")


def release_pods(objs: list[Manifest]) -> dict[str, Endpoint]:
    """The pods the release makes, with the labels they run with (the SparkApplication's driver and
    executor pods carry `spec.<role>.labels`), keyed by their component."""
    found: dict[str, Endpoint] = {}
    for i, o in enumerate(objs):
        if o["kind"] in ("Deployment", "Job"):
            labels = o["spec"]["template"]["metadata"]["labels"]
        elif o["kind"] == "Pod":
            labels = o["metadata"]["labels"]
        elif o["kind"] == "SparkApplication":
            for j, role in enumerate(("driver", "executor")):
                labels = {**o["spec"][role]["labels"], "spark-role": role, "spark-app-selector": "spark-0123"}
                found[role] = pod(role, f"10.244.0.{50 + j}", labels)
            continue
        else:
            continue
        component = labels["app.kubernetes.io/component"]
        found[component] = pod(component, f"10.244.0.{10 + i}", labels)
    return found


STRANGER = pod("stranger", "10.244.0.200", {"app": "other"})
STRANGER_ELSEWHERE = pod("stranger-elsewhere", "10.244.0.201", {"app": "other"}, namespace="default")
MONITORING = pod("prometheus", "10.244.0.202", {"app.kubernetes.io/name": "prometheus"}, namespace="monitoring")
HOST = Endpoint("host", KIND_HOST, namespace=None)
KUBE_DNS = pod("kube-dns", "10.244.0.2", {"k8s-app": "kube-dns"}, namespace="kube-system")
API_SERVER = Endpoint("api-server", "10.89.0.2", namespace=None)  # kind: the node's address, port 6443
AWS = Endpoint("aws", "52.94.0.10", namespace=None)


def inside_matrix(objs: list[Manifest]) -> set[tuple[str, str, int]]:
    """(source, destination, TCP port) among the release's pods that the policies let through."""
    pods = release_pods(objs)
    policies = policies_of(objs)
    ports = set(PORTS) | set(spark_ports(objs).values())
    return {
        (s, d, port)
        for s, src in pods.items()
        for d, dst in pods.items()
        for port in ports
        if connects(policies, src, dst, port)
    }


def expected_inside(objs: list[Manifest], local: bool) -> set[tuple[str, str, int]]:
    ports = spark_ports(objs)
    out = {
        ("test", "publisher", 8000),
        ("executor", "driver", ports["driverRpc"]),
        ("executor", "driver", ports["driverBlockManager"]),
        ("driver", "executor", ports["executorBlockManager"]),
        ("executor", "executor", ports["executorBlockManager"]),
    }
    if local:
        out |= {(c, "aws-emulator", 4566) for c in ("publisher", "test", "driver", "executor")}
        if "consumer-deregister" in release_pods(objs):
            out.add(("consumer-deregister", "aws-emulator", 4566))
    return out


def spark_ports(objs: list[Manifest]) -> dict[str, int]:
    conf = sparkapp(objs)["spec"]["sparkConf"]
    return {
        "driverRpc": int(conf["spark.driver.port"]),
        "driverBlockManager": int(conf["spark.driver.blockManager.port"]),
        "executorBlockManager": int(conf["spark.blockManager.port"]),
        "ui": int(conf.get("spark.ui.port", 4040)),
    }


def is_local(values_file: Path) -> bool:
    return values_file != AWS_VALUES


# --- every pod denied by default --------------------------------------------------------------


def test_every_pod_of_the_release_is_denied_in_and_out(manifests: list[Manifest]) -> None:
    """Each pod the release makes (Deployments, the test pod, the SparkApplication's driver and
    executors) is selected by a policy that isolates it both ways and allows nothing."""
    pods = release_pods(manifests)
    assert {"publisher", "test", "driver", "executor"} <= set(pods)
    deny = [
        p
        for p in policies_of(manifests)
        if set(types(p)) == {"Ingress", "Egress"} and not p["spec"].get("ingress") and not p["spec"].get("egress")
    ]
    assert len(deny) == 1, [p["metadata"]["name"] for p in deny]
    for name, endpoint in pods.items():
        assert selects(deny[0], endpoint), f"{name} is not selected by {deny[0]['metadata']['name']}"


def test_policies_select_only_the_releases_pods(manifests: list[Manifest]) -> None:
    others = [
        STRANGER,
        pod("x", "10.244.0.3", {"app.kubernetes.io/instance": "other-release", "app.kubernetes.io/name": "publisher"}),
        pod("y", "10.244.0.4", {"app.kubernetes.io/instance": RELEASE, "app.kubernetes.io/name": "something-else"}),
    ]
    for policy in policies_of(manifests):
        for other in others:
            assert not selects(policy, other), f"{policy['metadata']['name']} selects {other.labels}"


# --- exactly the allows the pipeline needs ------------------------------------------------------


def test_inside_the_release_exactly_the_pipelines_connections(manifests: list[Manifest], values_file: Path) -> None:
    assert inside_matrix(manifests) == expected_inside(manifests, is_local(values_file))


@pytest.mark.parametrize("stranger", [STRANGER, STRANGER_ELSEWHERE, MONITORING, HOST], ids=lambda e: e.name)
def test_nothing_outside_reaches_the_release_by_default(
    manifests: list[Manifest], values_file: Path, stranger: Endpoint
) -> None:
    """No pod of the namespace or of another, no address outside: not LocalStack, not the driver,
    not the publisher (the default `ingressFrom` and `metricsFrom` are empty). The kind values name
    `make prometheus`'s server in `metricsFrom`: it reaches the metrics ports, nothing else."""
    policies = policies_of(manifests)
    reached = [
        (name, port)
        for name, dst in release_pods(manifests).items()
        for port in PORTS
        if allows(policies, "Ingress", dst, stranger, port, "TCP")
    ]
    scraped = values_file == KIND_VALUES and stranger == MONITORING
    assert reached == ([("publisher", 8000), ("driver", 4040), ("driver", 9404)] if scraped else [])


def test_every_pod_resolves_names_through_the_cluster_dns_only(manifests: list[Manifest]) -> None:
    policies = policies_of(manifests)
    impostor = pod("fake-dns", "10.244.0.5", {"k8s-app": "kube-dns"}, namespace=NAMESPACE)
    for name, src in release_pods(manifests).items():
        for proto in ("UDP", "TCP"):
            assert allows(policies, "Egress", src, KUBE_DNS, 53, proto), f"{name}: no DNS over {proto}"
            assert not allows(policies, "Egress", src, impostor, 53, proto), f"{name}: DNS to any kube-dns label"
        assert not allows(policies, "Egress", src, KUBE_DNS, 80, "TCP")


def test_only_the_driver_reaches_the_api_server(manifests: list[Manifest]) -> None:
    """6443 (kind, kubeadm) is the driver's alone; on 443 the AWS rule (every address by default)
    lets the AWS clients out too when LocalStack is off, and ci/default-values.yaml's LocalStack
    egress (HTTPS for its downloads) does the same for LocalStack."""
    policies = policies_of(manifests)
    for name, src in release_pods(manifests).items():
        assert allows(policies, "Egress", src, API_SERVER, 6443, "TCP") is (name == "driver"), name
        if name in ("publisher", "test", "executor"):
            assert allows(policies, "Egress", src, API_SERVER, 443, "TCP") is not localstack_on(manifests), name


def test_the_api_server_rule_is_the_values(render: Render) -> None:
    objs = render(
        KIND_VALUES, sets=("networkPolicy.apiServer.cidrs={10.89.0.2/32}", "networkPolicy.apiServer.ports={6443}")
    )
    policies = policies_of(objs)
    pods = release_pods(objs)
    assert allows(policies, "Egress", pods["driver"], API_SERVER, 6443, "TCP")
    assert not allows(policies, "Egress", pods["driver"], API_SERVER, 443, "TCP")
    assert not allows(
        policies, "Egress", pods["driver"], Endpoint("elsewhere", "10.89.0.3", namespace=None), 6443, "TCP"
    )


def localstack_on(objs: list[Manifest]) -> bool:
    return "aws-emulator" in release_pods(objs)


def test_aws_egress_follows_localstack(manifests: list[Manifest]) -> None:
    """With LocalStack: its pod on 4566, no address outside on 443. Without: 443 outside for the
    pods that call AWS (publisher, test pod, driver, executors), and no rule names LocalStack."""
    policies = policies_of(manifests)
    pods = release_pods(manifests)
    local = localstack_on(manifests)
    for name in ("publisher", "test", "driver", "executor"):
        # the driver's API server rule (every address by default, 443 and 6443) covers AWS's 443 too
        if name != "driver":
            assert allows(policies, "Egress", pods[name], AWS, 443, "TCP") is (not local), name
        assert not allows(policies, "Egress", pods[name], AWS, 80, "TCP"), name
    if not local:  # LocalStack's own egress: test_localstack_egress_only_where_its_image_downloads
        assert "localstack" not in str([p["spec"] for p in policies])
        assert "4566" not in str([p["spec"] for p in policies])


def test_localstack_off_renders_egress_443_and_no_localstack_rule(render: Render) -> None:
    objs = render(sets=("localstack.enabled=false",))
    names = {p["metadata"]["name"] for p in policies_of(objs)}
    assert f"{RELEASE}-localstack" not in names
    assert "4566" not in str([p["spec"] for p in policies_of(objs)])
    policies = policies_of(objs)
    for name, src in release_pods(objs).items():
        assert allows(policies, "Egress", src, AWS, 443, "TCP"), name


@pytest.mark.parametrize("values_file", [CHART / "values.yaml", AWS_VALUES], ids=["localstack", "aws"])
def test_checkpoints_on_s3_need_no_policy_of_their_own(render: Render, values_file: Path) -> None:
    """Driver and executors already reach S3 (LocalStack on 4566, or AWS on 443): the policies are
    the same with `checkpoint.location` on S3 as with the PVC."""
    on_pvc = render(values_file, sets=("spark-job.checkpoint.location=",))
    on_s3 = render(values_file, sets=("spark-job.checkpoint.location=s3://my-bucket/checkpoints",))
    assert policies_of(on_s3) == policies_of(on_pvc)
    policies, pods = policies_of(on_s3), release_pods(on_s3)
    for role in ("driver", "executor"):
        if localstack_on(on_s3):
            assert connects(policies, pods[role], pods["aws-emulator"], 4566), role
        else:
            assert allows(policies, "Egress", pods[role], AWS, 443, "TCP"), role


def test_aws_cidrs_and_ports_are_the_values(render: Render) -> None:
    objs = render(AWS_VALUES, sets=("networkPolicy.aws.cidrs={10.0.0.0/16}", "networkPolicy.aws.ports={443,8443}"))
    policies = policies_of(objs)
    endpoint = Endpoint("vpce", "10.0.3.4", namespace=None)
    for name in ("publisher", "test", "driver", "executor"):
        src = release_pods(objs)[name]
        assert allows(policies, "Egress", src, endpoint, 8443, "TCP")
        assert not allows(policies, "Egress", src, AWS, 443, "TCP") or name == "driver"  # the API server rule


def test_kind_host_reaches_the_nodeports_and_nothing_else(render: Render) -> None:
    """`make deploy` on kind passes the node network as `ingressFrom`: the host reaches the
    publisher's HTTP port and LocalStack's edge port (the NodePorts), nothing else; pods still don't."""
    objs = render(KIND_VALUES, sets=KIND_SET)
    policies = policies_of(objs)
    pods = release_pods(objs)
    reached = {(n, p) for n, dst in pods.items() for p in PORTS if allows(policies, "Ingress", dst, HOST, p, "TCP")}
    assert reached == {("publisher", 8000), ("aws-emulator", 4566)}
    for stranger in (STRANGER, STRANGER_ELSEWHERE):
        assert not any(allows(policies, "Ingress", dst, stranger, p, "TCP") for dst in pods.values() for p in PORTS)
    assert inside_matrix(objs) == expected_inside(objs, local=True)


def test_metrics_peers_reach_the_metric_ports_only(render: Render) -> None:
    objs = render(KIND_VALUES, sets=MONITORING_SET)
    policies = policies_of(objs)
    pods = release_pods(objs)
    reached = {(n, p) for n, dst in pods.items() for p in PORTS if connects(policies, MONITORING, dst, p)}
    # the publisher's /metrics, the job's own metrics (spark-job.metrics.port), Spark's servlet (UI port)
    assert reached == {("publisher", 8000), ("driver", 9404), ("driver", spark_ports(objs)["ui"])}
    assert not any(connects(policies, STRANGER, dst, p) for dst in pods.values() for p in PORTS)


@pytest.mark.parametrize(
    ("sets", "driver_ports"),
    [
        (("spark-job.metrics.port=9500",), {9500, 4040}),
        (("spark-job.metrics.enabled=false",), set()),
        (("publisher.metrics.enabled=false",), {9404, 4040}),
    ],
    ids=["port-9500", "job-metrics-off", "publisher-metrics-off"],
)
def test_metrics_peers_follow_the_job_metrics_port(
    render: Render, sets: tuple[str, ...], driver_ports: set[int]
) -> None:
    """The driver's policy lets `metricsFrom` in on the job's metrics port while spark-job.metrics is
    on, on the port it names, and on nothing else; the publisher's follows its own switch."""
    objs = render(KIND_VALUES, sets=(*MONITORING_SET, *sets))
    policies = policies_of(objs)
    pods = release_pods(objs)
    assert {p for p in PORTS if connects(policies, MONITORING, pods["driver"], p)} == driver_ports
    publisher = {p for p in PORTS if connects(policies, MONITORING, pods["publisher"], p)}
    assert publisher == (set() if "publisher.metrics.enabled=false" in sets else {8000})
    assert inside_matrix(objs) == expected_inside(objs, local=True)


def test_metrics_off_no_scraping_allow(render: Render) -> None:
    objs = render(
        KIND_VALUES, sets=(*MONITORING_SET, "publisher.metrics.enabled=false", "spark-job.metrics.enabled=false")
    )
    policies = policies_of(objs)
    assert not any(connects(policies, MONITORING, dst, p) for dst in release_pods(objs).values() for p in PORTS)


def test_spark_ui_peers_only_with_the_ui_service(render: Render) -> None:
    peer = (
        "networkPolicy.sparkUiFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring",
        "networkPolicy.metricsFrom=null",  # the kind values let the same Prometheus scrape
    )
    without = render(KIND_VALUES, sets=peer)
    with_service = render(
        KIND_VALUES, sets=(*peer, "spark-job.uiService.enabled=true", "spark-job.metrics.enabled=false")
    )
    for objs, expected in ((without, set()), (with_service, {("driver", 4040)})):
        policies = policies_of(objs)
        pods = release_pods(objs)
        assert {(n, p) for n, d in pods.items() for p in PORTS if connects(policies, MONITORING, d, p)} == expected


CONSUMER_SET = ("spark-job.job.consumerName=article-pipeline-efo",)


@pytest.mark.parametrize("values_file", [KIND_VALUES, AWS_VALUES], ids=["localstack", "aws"])
def test_the_consumer_hook_reaches_kinesis_and_nothing_else(render: Render, values_file: Path) -> None:
    """The `pre-delete` hook that deregisters the stream consumer (spark-job.job.consumerName) is
    denied like every pod of the release, resolves names, and reaches Kinesis (LocalStack's edge
    port, or AWS on 443 without LocalStack) and nothing else; nobody reaches it."""
    objs = render(values_file, sets=CONSUMER_SET)
    policies, pods = policies_of(objs), release_pods(objs)
    hook = pods["consumer-deregister"]
    local = localstack_on(objs)
    assert allows(policies, "Egress", hook, KUBE_DNS, 53, "UDP")
    assert allows(policies, "Egress", hook, AWS, 443, "TCP") is not local
    assert not allows(policies, "Egress", hook, API_SERVER, 6443, "TCP")
    assert not allows(policies, "Egress", hook, AWS, 80, "TCP")
    reached = {(d, p) for d, dst in pods.items() for p in PORTS if connects(policies, hook, dst, p)}
    assert reached == ({("aws-emulator", 4566)} if local else set())
    for src in (*pods.values(), STRANGER, HOST, MONITORING):
        assert not any(allows(policies, "Ingress", hook, src, p, "TCP") for p in PORTS), src.name
    assert inside_matrix(objs) == expected_inside(objs, local)


def test_no_consumer_no_hook_policy(render: Render) -> None:
    objs = render(KIND_VALUES)
    assert "consumer-deregister" not in release_pods(objs)
    assert f"{RELEASE}-spark-consumer-deregister" not in {p["metadata"]["name"] for p in policies_of(objs)}
    assert "'app.kubernetes.io/component': 'consumer-deregister'" not in str(policies_of(objs))


def test_no_helm_test_pod_no_allow_for_it(render: Render) -> None:
    objs = render(KIND_VALUES, sets=("publisher.helmTest.enabled=false",))
    assert "test" not in release_pods(objs)
    assert f"{RELEASE}-publisher-test" not in {p["metadata"]["name"] for p in policies_of(objs)}
    assert "'app.kubernetes.io/component': 'test'" not in str(policies_of(objs))


# --- Spark's ports are fixed, and the policies name the ones in force ---------------------------


def test_spark_ports_are_fixed_in_sparkconf(manifests: list[Manifest]) -> None:
    assert spark_ports(manifests) == {
        "driverRpc": 7078,
        "driverBlockManager": 7079,
        "executorBlockManager": 7079,
        "ui": 4040,
    }


def test_policies_follow_spark_ports_from_sparkconf(render: Render) -> None:
    objs = render(
        KIND_VALUES,
        sets=(
            "spark-job.sparkConf.spark\\.driver\\.port=7100",
            "spark-job.sparkConf.spark\\.driver\\.blockManager\\.port=7101",
            "spark-job.sparkConf.spark\\.blockManager\\.port=7102",
        ),
    )
    assert spark_ports(objs)["driverRpc"] == 7100
    assert inside_matrix(objs) >= {("executor", "driver", 7100), ("driver", "executor", 7102)}
    ports = {port for _, _, port in inside_matrix(objs)}
    assert {7078, 7079} & ports == set()


@pytest.mark.parametrize("key", ["spark.blockManager.port", "spark.driver.port"])
def test_a_random_spark_port_is_refused(run_helm: Helm, key: str) -> None:
    escaped = key.replace(".", "\\.")
    result = run_helm("template", "x", str(CHART), "--set", f"spark-job.sparkConf.{escaped}=0")
    assert result.returncode != 0
    assert f"spark-job.sparkConf.{key}=0" in result.stderr
    off = run_helm(
        "template", "x", str(CHART), "--set", f"spark-job.sparkConf.{escaped}=0", "--set", "networkPolicy.enabled=false"
    )
    assert off.returncode == 0, off.stderr


# --- the switch, the schema, the comments -------------------------------------------------------


@pytest.mark.parametrize("values_file", CI_VALUES, ids=[p.name for p in CI_VALUES])
def test_the_switch_off_renders_no_networkpolicy(render: Render, values_file: Path) -> None:
    objs = render(values_file, sets=("networkPolicy.enabled=false",))
    assert policies_of(objs) == []
    assert release_pods(objs)


def test_policies_on_by_default(render: Render) -> None:
    assert len(policies_of(render())) >= 6


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("networkPolicy.enabled=maybe", "/networkPolicy/enabled"),
        ("networkPolicy.aws.cidrs={10.0.0.0}", "/networkPolicy/aws/cidrs/0"),
        ("networkPolicy.apiServer.ports={0}", "/networkPolicy/apiServer/ports/0"),
        ("networkPolicy.ingressFrom[0].ipblock.cidr=10.0.0.0/8", "/networkPolicy/ingressFrom/0"),
        ("networkPolicy.colour=blue", "colour"),
    ],
)
def test_schema_rejects_a_bad_value_naming_it(run_helm: Helm, setting: str, named: str) -> None:
    result = run_helm("template", "x", str(CHART), "--set", setting)
    assert result.returncode != 0
    assert named in result.stderr, result.stderr


def test_every_allow_is_commented(run_helm: Helm) -> None:
    """Each rule (an item of `ingress:` or `egress:`) has a comment right above it saying why."""
    text = template_text(run_helm, "-f", str(KIND_VALUES), "--set", KIND_SET[0], "--set", MONITORING_SET[0])
    docs = [d for d in re.split(r"(?m)^---\s*$", text) if "kind: NetworkPolicy" in d]
    assert len(docs) >= 6
    bare = []
    for doc in docs:
        lines = doc.splitlines()
        for i, line in enumerate(lines):
            if re.match(r"^    - (to|from):", line) and not lines[i - 1].strip().startswith("#"):
                bare.append(f"{doc.splitlines()[2:4]}: {line.strip()}")
    assert bare == []


def test_node_network_script_is_what_the_docs_pass() -> None:
    script = (CHART.parents[1] / "scripts" / "kind" / "node-network.sh").read_text()
    docs = (CHART.parents[1] / "docs" / "kubernetes.md").read_text()
    assert "networkPolicy.ingressFrom[0].ipBlock.cidr=$(bash scripts/kind/node-network.sh)" in docs
    assert "network inspect" in script and "container-engine.sh" in script


def test_docs_describe_every_policy(render: Render) -> None:
    docs = (CHART.parents[1] / "docs" / "kubernetes.md").read_text()
    section = docs.split("## Network policies", 1)[1].split("\n## ", 1)[0]
    for policy in policies_of(render(KIND_VALUES, sets=CONSUMER_SET)):
        suffix = policy["metadata"]["name"].removeprefix(f"{RELEASE}-")
        assert f"`{suffix}`" in section, f"docs/kubernetes.md: no `{suffix}` in Network policies"


def test_notes_tell_the_policies_and_the_way_in(run_helm: Helm) -> None:
    def notes(*args: str) -> str:
        result = run_helm("install", RELEASE, str(CHART), "--dry-run=client", "--namespace", NAMESPACE, *args)
        assert result.returncode == 0, result.stderr
        return result.stdout.split("NOTES:", 1)[1]

    on = notes("-f", str(KIND_VALUES))
    assert "NetworkPolicies deny" in on and "networkPolicy.ingressFrom" in on and "NodePorts included" in on
    opened = notes("-f", str(KIND_VALUES), "--set", KIND_SET[0])
    assert "NetworkPolicies deny" in opened and "Nothing outside the release" not in opened
    assert "NetworkPolicies" not in notes("--set", "networkPolicy.enabled=false")


@pytest.mark.parametrize(("values_file", "https"), [(DEFAULT_VALUES, True), (KIND_VALUES, False), (AWS_VALUES, False)])
def test_localstack_egress_only_where_its_image_downloads(render: Render, values_file: Path, https: bool) -> None:
    """The stock LocalStack image (ci/default-values.yaml) downloads kinesis-mock on first use: HTTPS out
    and nothing else; the image built here (ci/kind-values.yaml) needs nothing but DNS."""
    objs = render(values_file)
    pods = release_pods(objs)
    if "aws-emulator" not in pods:
        assert not https
        return
    policies = policies_of(objs)
    localstack = pods["aws-emulator"]
    assert allows(policies, "Egress", localstack, AWS, 443, "TCP") is https
    assert not allows(policies, "Egress", localstack, AWS, 80, "TCP")
    assert not any(connects(policies, localstack, dst, p) for dst in pods.values() for p in PORTS)
