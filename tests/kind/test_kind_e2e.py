"""The Kubernetes loop a user runs, for real, on a kind cluster: every command, each step timed.

    make kind-up                      cluster up: a control plane and two workers (node image from
                                      source here, kindest/node elsewhere), NetworkPolicy enforced
    -> checkpoints on S3              no claim: the executor runs on another node than the driver
    make images kind-load             the app images into the node
    make operator                     Spark Operator 2.5.2 (chart from its Go module, local image)
    make deploy                       helm upgrade --install --wait with the kind values
    -> publisher Ready -> SparkApplication RUNNING -> enriched rows in S3 (127.0.0.1:14566)
    kubectl logs <app>-driver         "batch_completed" lines
    kubectl port-forward svc/<pub>    GET /health = 200 (and `make health`)
    helm test                         the chart's test pod passes
    make prometheus                   a Prometheus built from source scrapes the release: the Kinesis lag of
                                      every shard, counters rising; the staleness alert fires while the
                                      driver's JVM is frozen and resolves once it runs again
    deny by default                   pods outside the release (its namespace, another) are refused by
                                      the driver's UI/RPC/block-manager ports, LocalStack, the publisher;
                                      allowed peers connect; a UI kill request leaves the jobs running;
                                      8 stalled connections leave the publisher's probes answering
    driver killed 6 times             pod deleted (graceful, forced), JVM kill -9, SIGTERM to PID 1, each
                                      after a batch: the operator resubmits it every time (more kills
                                      than a lifetime retry count of 5 allows); every article still
                                      there exactly once
    make deploy DEPLOY_ARGS=--set ... publisher and job roll, the job to enhanced fan-out
                                      (consumerName): reads through SubscribeToShard, still every
                                      article exactly once, the consumer registered and ACTIVE
    helm uninstall --wait             the pre-delete hook Job deregisters the consumer and completes;
                                      no object of the release left; `make deploy` starts clean
    make kind-down                    no container left

Skipped only where the machine cannot: no podman or docker, or the node image cannot be built
(the reason is printed). A failure prints diagnostics, then tears the cluster down; KIND_E2E_KEEP=1
keeps it (no `make kind-down`, passed or failed) for debugging; KIND_E2E_REPORT=<file> also writes
the step timings and counts as JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from deny_checks import outsiders_are_refused, stalled_clients_leave_probes_alone, ui_kill_changes_nothing
from kind_testing import (
    APP,
    BUCKET,
    CHECKPOINTS,
    CLUSTER,
    CONTEXT,
    DRIVER,
    ENGINE,
    HELM,
    KUBECTL,
    LOCALSTACK_URL,
    NAMESPACE,
    NODE_IMAGE,
    PUBLISHER,
    RELEASE,
    STREAM,
    Report,
    app_state,
    app_status,
    driver_pod,
    exec_in_driver,
    get_json,
    helm,
    http_status,
    kubectl,
    make,
    port_forward,
    rows_batches,
    run,
    signal_java,
    wait_for,
)
from prometheus_checks import prometheus_sees_the_release, staleness_alert_fires_and_resolves


def node_image_prerequisites_missing() -> str | None:
    """Why this machine cannot build the kind node image (podman, no registry), or None when it can.

    With Docker, kind pulls the stock image. Otherwise `scripts/build-image.sh kind-node` needs root and Go;
    a build that fails for any other reason fails the test.
    """
    if ENGINE == "docker":
        return None
    if subprocess.run([str(ENGINE), "image", "exists", NODE_IMAGE], capture_output=True).returncode == 0:
        return None
    if os.geteuid() != 0:
        return f"building the kind node image {NODE_IMAGE} with podman needs root"
    if shutil.which("go") is None and not Path("/usr/local/go/bin/go").exists():
        return f"building the kind node image {NODE_IMAGE} needs Go (go.dev/dl or Debian's golang)"
    return None


pytestmark = [
    pytest.mark.kind,
    pytest.mark.skipif(ENGINE is None, reason="kind e2e: neither a docker engine nor podman answers `info`"),
]


# How the driver dies, in turn: its pod deleted as a node drain does (SIGTERM, grace period), its pod
# force-deleted (gone from the API at once: "driver pod not found"), its JVM killed (exit 137), its
# PID 1 sent SIGTERM while the pod stays (the exit code must not be 0, or the application would end
# COMPLETED instead of being resubmitted).
KILLS = ("delete", "force-delete", "kill-9", "sigterm", "force-delete", "kill-9")
# Spark Operator 2.5.2 gives up after onFailureRetries failures counted over the application's life:
# the kills outnumber a finite count such as 5, which would leave the application FAILED; the chart's
# `unlimited` keeps it RUNNING.
FINITE_LIFETIME_RETRIES = 5
# The stream consumer the upgrade step switches the job to (enhanced fan-out); LocalStack serves
# SubscribeToShard from its own provider.
CONSUMER = "kind-efo"


def kill_driver(method: str) -> None:
    if method == "delete":
        kubectl("delete", "pod", DRIVER, "--wait=true", timeout=200)
    elif method == "force-delete":
        kubectl("delete", "pod", DRIVER, "--grace-period=0", "--force", timeout=60)
    elif method == "sigterm":  # tini (PID 1) passes it to the driver JVM
        exec_in_driver("kill -TERM 1", stops_container=True)
    else:
        signal_java("KILL")


def exit_code_of(uid: str, seconds: float = 30) -> int | None:
    """The driver container's exit code while its pod `uid` is still there (the operator deletes it
    before the resubmission: best effort, polled)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pods = get_json("pods", "-l", f"spark-role=driver,sparkoperator.k8s.io/app-name={APP}")["items"]
        for pod in pods:
            if pod["metadata"]["uid"] != uid:
                continue
            for status in pod["status"].get("containerStatuses", []):
                terminated = status.get("state", {}).get("terminated")
                if status["name"] == "spark-kubernetes-driver" and terminated:
                    return int(terminated["exitCode"])
        if not any(p["metadata"]["uid"] == uid for p in pods):
            return None
        time.sleep(0.5)
    return None


def kill_and_recover(number: int, method: str) -> dict[str, Any]:
    """Kill the driver one way; wait for the operator's resubmission and for a batch of the new driver."""
    old = driver_pod()
    assert old is not None
    old_uid = old["metadata"]["uid"]
    t0 = time.monotonic()
    kill_driver(method)
    exit_code = exit_code_of(old_uid) if method in ("sigterm", "kill-9") else None

    def resubmitted() -> dict[str, Any] | str | None:
        state = app_state()
        if state in ("COMPLETED", "FAILED"):
            return state  # final: no resubmission will come
        pod = driver_pod()
        return pod if pod and pod["metadata"]["uid"] != old_uid and state == "RUNNING" else None

    new = wait_for(resubmitted, 600, f"kill {number} ({method}): a new driver pod and RUNNING", 2)
    assert isinstance(new, dict), f"kill {number} ({method}): the application ended {new}"
    running = time.monotonic() - t0
    new_uid = new["metadata"]["uid"]
    wait_for(lambda: rows_batches(new_uid), 300, f"kill {number} ({method}): a batch with rows in the new driver", 3)
    status = app_status()
    return {
        "driver_exit_code": exit_code,
        "seconds_to_new_driver_running": round(running, 1),
        "seconds_to_first_batch": round(time.monotonic() - t0, 1),
        "executionAttempts": status.get("executionAttempts"),
        "submissionAttempts": status.get("submissionAttempts"),
    }


def ready_nodes() -> list[dict[str, Any]] | None:
    """Every node with its name and whether pods may land on it, once all of them are Ready."""
    items = get_json("nodes")["items"]
    ready = [
        any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))
        for node in items
    ]
    if not items or not all(ready):
        return None
    return [
        {
            "name": node["metadata"]["name"],
            "schedulable": not any(t.get("effect") == "NoSchedule" for t in node["spec"].get("taints", [])),
        }
        for node in items
    ]


def executors_elsewhere(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """The nodes of the driver and of its executors, once scheduled; with more than one node to
    choose from, no executor shares the driver's (ci/kind-values.yaml prefers it so)."""

    def placed() -> dict[str, Any] | None:
        driver = driver_pod()
        if not driver:
            return None
        selector = f"spark-role=executor,sparkoperator.k8s.io/app-name={APP}"
        # this driver's executors (they are owned by its pod), not those of a driver killed before
        executors = [
            e
            for e in get_json("pods", "-l", selector)["items"]
            if any(o.get("uid") == driver["metadata"]["uid"] for o in e["metadata"].get("ownerReferences", []))
            and not e["metadata"].get("deletionTimestamp")
        ]
        if not driver["spec"].get("nodeName") or not executors:
            return None
        if not all(e["spec"].get("nodeName") for e in executors):
            return None
        return {"driver": driver["spec"]["nodeName"], "executors": sorted(e["spec"]["nodeName"] for e in executors)}

    placement: dict[str, Any] = wait_for(placed, 300, "the driver and its executors scheduled")
    if sum(node["schedulable"] for node in nodes) > 1:
        assert placement["driver"] not in placement["executors"], f"an executor on the driver's node: {placement}"
    return placement


def diagnostics() -> str:
    out = []
    for args in (
        ("get", "pods,sparkapplications,pvc,svc", "-o", "wide"),
        ("get", "events", "--sort-by=.lastTimestamp"),
        ("describe", "sparkapplication", APP),
        ("logs", DRIVER, "-c", "checkpoint-guard", "--tail=20"),
        ("logs", DRIVER, "-c", "spark-kubernetes-driver", "--tail=60"),
        # Why a pod waits in Init: the wait-for-aws lines say what was missing, attempt by attempt.
        ("logs", f"deploy/{RELEASE}-publisher", "-c", "wait-for-aws", "--tail=20"),
        ("logs", DRIVER, "-c", "wait-for-aws", "--tail=20"),
    ):
        with contextlib.suppress(Exception):
            out.append(f"$ kubectl {' '.join(args)}\n{kubectl(*args, check=False)[-4000:]}")
    return "\n".join(out)


# --- the data, read from the host as any downstream reader would ----------------------------


@dataclass(frozen=True)
class Tally:
    published: int  # records in the stream
    valid_ids: frozenset[str]  # distinct article_ids of the valid records
    invalid: int


def stream_tally(aws: Any) -> Tally:
    from common.contract import Article, parse_record
    from ops.outputs import stream_records

    ids: set[str] = set()
    invalid = published = 0
    for record in stream_records(aws, STREAM):
        published += 1
        outcome = parse_record(record["Data"], record["ApproximateArrivalTimestamp"])
        if isinstance(outcome, Article):
            ids.add(outcome.article_id)
        else:
            invalid += 1
    return Tally(published, frozenset(ids), invalid)


class EnrichedReader:
    """article_ids of the Delta table enriched_articles, read as ops.outputs.read_output does
    (through the table's log with deltalake), only the one column: polling stays light on a
    2-core node."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws

    def ids(self) -> Counter[str]:
        from common.contract import ENRICHED_ARTICLES
        from ops.outputs import open_table

        table = open_table(self.aws, BUCKET, ENRICHED_ARTICLES)
        if table is None:
            return Counter()
        return Counter(table.to_pyarrow_table(columns=["article_id"]).column("article_id").to_pylist())


def fan_out_reads(uid: str) -> dict[str, int]:
    """SubscribeToShard and GetRecords calls summed over the batches with rows of driver `uid`, once
    a batch read through a subscription (the first attempts of a read subscribe; replays poll)."""

    def counted() -> dict[str, int] | None:
        batches = rows_batches(uid)
        shards = [read for batch in batches for read in (batch.get("shards") or {}).values()]
        calls = {
            "batches_with_rows": len(batches),
            "subscribe_calls": sum(int(r.get("subscribe_calls") or 0) for r in shards),
            "get_records_calls": sum(int(r.get("get_records_calls") or 0) for r in shards),
        }
        return calls if calls["subscribe_calls"] else None

    return wait_for(counted, 300, "a batch read through SubscribeToShard (subscribe_calls > 0)", 5)


def registered_consumers(aws: Any) -> dict[str, str]:
    """The stream's consumers: name -> status."""
    from common.aws import client

    kinesis = client("kinesis", aws)
    arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamARN"]
    return {c["ConsumerName"]: c["ConsumerStatus"] for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]}


def job_event_reasons(job: str) -> list[str]:
    """The reasons of the events about the Job `job` (they outlive the Job and its pods)."""
    selector = f"involvedObject.kind=Job,involvedObject.name={job}"
    return [e["reason"] for e in get_json("events", "--field-selector", selector)["items"]]


def all_there_once(aws: Any, report: Report, label: str, timeout: float = 600) -> None:
    """Snapshot the stream, then wait until each valid article of it is in enriched_articles; no duplicates."""
    tally = stream_tally(aws)
    assert tally.published > 0, "nothing published"
    reader = EnrichedReader(aws)

    def caught_up() -> Counter[str] | None:
        ids = reader.ids()
        return ids if tally.valid_ids <= set(ids) else None

    ids = wait_for(
        caught_up, timeout, f"{label}: all {len(tally.valid_ids)} published articles in enriched_articles", 10
    )
    duplicates = sum(n - 1 for n in ids.values())
    report.record(
        f"{label} counts",
        {
            "published": tally.published,
            "valid_distinct": len(tally.valid_ids),
            "in_table": sum(ids[i] for i in tally.valid_ids),
            "table_rows_total": sum(ids.values()),
            "duplicates": duplicates,
        },
    )
    assert duplicates == 0, f"{label}: {duplicates} duplicate article_ids in enriched_articles"
    assert all(ids[i] == 1 for i in tally.valid_ids)


def leftovers() -> list[str]:
    """Every namespaced object of the release (or made for it by the operator and Spark) still there."""
    kinds = "pods,services,configmaps,secrets,serviceaccounts,persistentvolumeclaims,deployments,replicasets,roles,rolebindings,sparkapplications,jobs"
    found = []
    for item in get_json(kinds)["items"]:
        meta = item["metadata"]
        labels = meta.get("labels") or {}
        mine = (
            labels.get("app.kubernetes.io/instance") == RELEASE  # the chart's, filtered by release
            or labels.get("sparkoperator.k8s.io/app-name") == APP  # driver and executor pods
            or "spark-app-selector" in labels  # what spark-submit and the driver create
            or meta["name"].startswith((f"{APP}-", "spark-drv-", "spark-exec-"))
        )
        if mine:
            found.append(f"{item['kind']}/{meta['name']}")
    volumes = json.loads(run(KUBECTL, "--context", CONTEXT, "get", "pv", "-o", "json"))["items"]
    found += [
        f"PersistentVolume/{v['metadata']['name']}"
        for v in volumes
        if (v["spec"].get("claimRef") or {}).get("namespace") == NAMESPACE
        and (v["spec"].get("claimRef") or {}).get("name", "").startswith(RELEASE)
    ]
    return found


# --- the test ---------------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    from common.settings import AwsSettings

    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    return AwsSettings(region="us-east-1", endpoint_url=LOCALSTACK_URL)


def test_kind_user_loop(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    report = Report()
    with capsys.disabled():
        try:
            _loop(report, aws)
        except AssertionError as error:
            report.say(f"FAILED: {str(error)[:3000]}")
            report.say(diagnostics())
            if not os.environ.get("KIND_E2E_KEEP"):
                report.say("tearing the cluster down after the failure (KIND_E2E_KEEP=1 keeps it)")
                make("kind-down", timeout=600)
            raise
        finally:
            print(report.summary(), flush=True)
            if os.environ.get("KIND_E2E_REPORT"):
                Path(os.environ["KIND_E2E_REPORT"]).write_text(
                    json.dumps({"steps": report.steps, "numbers": report.numbers}, indent=2, default=str)
                )


def _loop(report: Report, aws: Any) -> None:
    with report.step("cluster up (make kind-up)"):
        missing = node_image_prerequisites_missing()
        if missing:
            report.say(f"SKIP: {missing}")
            pytest.skip(missing)
        make("k8s-tools", "kind-up", timeout=5400)
        nodes = wait_for(ready_nodes, 300, "every node Ready")
        report.record("nodes Ready", nodes)

    with report.step("images built and loaded (make images kind-load)"):
        make("images", "kind-load", timeout=5400)

    with report.step("operator (make operator)"):
        make("operator", timeout=5400)
        assert run(HELM, "--kube-context", CONTEXT, "-n", "spark-operator", "status", "spark-operator")

    # a release left by an earlier, interrupted run would make this one resume instead of start
    if RELEASE in run(HELM, "--kube-context", CONTEXT, "-n", NAMESPACE, "list", "-q").split():
        report.say("an earlier release exists: make undeploy first")
        make("undeploy", timeout=900)

    install_started = time.monotonic()
    with report.step("helm install --wait (make deploy)"):
        make("deploy", timeout=1200)

    with report.step("the namespace enforces Pod Security restricted"):
        labels = get_json("namespace", NAMESPACE)["metadata"]["labels"]
        for mode in ("enforce", "warn", "audit"):
            assert labels.get(f"pod-security.kubernetes.io/{mode}") == "restricted", labels

    with report.step("publisher Ready"):
        kubectl("rollout", "status", f"deploy/{PUBLISHER}", "--timeout=300s", timeout=330)

    with report.step("SparkApplication RUNNING"):
        wait_for(lambda: app_state() == "RUNNING" and driver_pod(), 900, f"{APP} RUNNING with a driver pod", 5)
        pod = driver_pod()
        assert pod is not None
        labels = pod["metadata"]["labels"]
        # pod templates, not the webhook: the operator did not ask for mutation, yet the template's
        # init containers are there
        assert "sparkoperator.k8s.io/mutated-by-spark-operator" not in labels, labels
        assert [c["name"] for c in pod["spec"]["initContainers"]] == ["wait-for-aws", "checkpoint-guard"]
        # checkpoints on S3 (ci/kind-values.yaml): no claim ties the executors to the driver's node
        claims = [v for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v]
        assert claims == [], claims
        job_env = {v["name"]: v.get("value") for c in pod["spec"]["containers"] for v in c.get("env", [])}
        assert job_env.get("CHECKPOINT_LOCATION") == CHECKPOINTS, job_env.get("CHECKPOINT_LOCATION")
        assert pod["spec"]["serviceAccountName"] == f"{APP}-driver"
        # spark-submit keeps the template's containers: a failure's last log lines become its message
        policies = {
            c["name"]: c.get("terminationMessagePolicy")
            for c in pod["spec"]["initContainers"] + pod["spec"]["containers"]
        }
        assert set(policies.values()) == {"FallbackToLogsOnError"}, policies
        executors = wait_for(
            lambda: get_json("pods", "-l", f"spark-role=executor,sparkoperator.k8s.io/app-name={APP}")["items"],
            300,
            "an executor pod",
        )
        assert {e["spec"]["serviceAccountName"] for e in executors} == {f"{APP}-executor"}
        report.record("placement", executors_elsewhere(nodes))
        # spark.authenticate: the driver generated this application's secret and handed it to its executors
        assert all(
            any(v["name"] == "_SPARK_AUTH_SECRET" for c in e["spec"]["containers"] for v in c.get("env", []))
            for e in executors
        ), "executors run without Spark's authentication secret"

    with report.step("enriched rows in S3 through 127.0.0.1:14566"):
        reader = EnrichedReader(aws)
        wait_for(lambda: sum(reader.ids().values()), 900, "rows in s3://my-bucket/enriched_articles/", 5)
        report.record("seconds from helm install to the first enriched row", round(time.monotonic() - install_started))

    with report.step("kubectl logs of the driver shows batch progress"):

        def batches() -> list[dict[str, Any]]:
            lines = kubectl("logs", DRIVER, "-c", "spark-kubernetes-driver").splitlines()
            found = [json.loads(x) for x in lines if x.startswith("{") and '"batch_completed"' in x]
            return [b for b in found if b.get("input_rows")]

        progress = wait_for(batches, 300, "a batch_completed line with input rows in the driver log")
        report.say(f"driver log: {json.dumps(progress[-1])[:300]}")

    with report.step("kubectl port-forward to the publisher's /health answers 200"):
        with port_forward(f"svc/{PUBLISHER}", 8000) as publisher:
            wait_for(lambda: http_status(f"{publisher}/health") == 200, 120, "/health = 200", 2)
        make("health", timeout=180)

    with report.step("helm test passes"):
        out = helm("test", RELEASE, "--timeout", "5m", "--logs", timeout=400)
        assert "Phase:          Succeeded" in out or "Succeeded" in out, out

    with report.step("deny by default: pods outside the allow-list are refused, allowed peers connect"):
        network_policies = kubectl("get", "networkpolicies", "-o", "name").split()
        report.record("NetworkPolicies", len(network_policies))
        assert network_policies, "no NetworkPolicy in the namespace"
        outsiders_are_refused(report)

    with report.step("a kill request to the driver's UI changes nothing"):
        ui_kill_changes_nothing(report)

    with report.step("stalled connections leave the publisher's probes alone"):
        stalled_clients_leave_probes_alone(report)

    with report.step("a live Prometheus (make prometheus): lag of every shard, counters rising"):
        prometheus_sees_the_release(report, aws)

    with report.step("the staleness alert fires while the job is frozen and resolves when it is back"):
        staleness_alert_fires_and_resolves(report)

    with report.step(f"driver killed {len(KILLS)} times: resubmitted each time, every article exactly once"):
        attempts_before = app_status()["executionAttempts"]
        for number, method in enumerate(KILLS, 1):
            report.record(f"kill {number} ({method})", kill_and_recover(number, method))
            if number == 1:
                guard = kubectl("logs", DRIVER, "-c", "checkpoint-guard")
                assert '"resumed": true' in guard, guard
        status = app_status()
        assert status["applicationState"]["state"] == "RUNNING", status
        assert status["executionAttempts"] >= attempts_before + len(KILLS), status
        assert status["executionAttempts"] > FINITE_LIFETIME_RETRIES + 1, "fewer kills than a finite retry count"
        all_there_once(aws, report, "driver kills")
        report.record("placement after the kills", executors_elsewhere(nodes))

    with report.step("helm upgrade to enhanced fan-out rolls without loss, reading through subscriptions"):
        old_publisher = kubectl(
            "get", "pods", "-l", f"app.kubernetes.io/name=publisher,app.kubernetes.io/instance={RELEASE}", "-o", "name"
        )
        old_driver = driver_pod()
        assert old_driver is not None
        # what a user types: the same values, tags and NetworkPolicy peers as the install, two values
        # changed; the job switches from GetRecords to SubscribeToShard mid-stream on one position log
        make("deploy", f"DEPLOY_ARGS=--set publisher.publish.rate=8 --set spark-job.job.consumerName={CONSUMER}")
        kubectl("rollout", "status", f"deploy/{PUBLISHER}", "--timeout=300s", timeout=330)
        new_publisher = kubectl(
            "get", "pods", "-l", f"app.kubernetes.io/name=publisher,app.kubernetes.io/instance={RELEASE}", "-o", "name"
        )
        assert new_publisher != old_publisher, "the publisher did not roll"

        def resubmitted_with_consumer() -> dict[str, Any] | None:
            pod = driver_pod()
            if not pod or pod["metadata"]["uid"] == old_driver["metadata"]["uid"] or app_state() != "RUNNING":
                return None
            env = [e for c in pod["spec"]["containers"] for e in c.get("env", [])]
            return pod if {"name": "KINESIS_CONSUMER_NAME", "value": CONSUMER} in env else None

        new_driver = wait_for(
            resubmitted_with_consumer, 900, f"the job resubmitted with KINESIS_CONSUMER_NAME={CONSUMER} and RUNNING", 5
        )
        new_uid = new_driver["metadata"]["uid"]
        all_there_once(aws, report, "upgrade")
        report.record("reads after the upgrade", fan_out_reads(new_uid))
        consumers = registered_consumers(aws)
        report.record("stream consumers", consumers)
        assert consumers == {CONSUMER: "ACTIVE"}, consumers

    with report.step("helm uninstall runs the pre-delete hook that deregisters the consumer"):
        helm("uninstall", RELEASE, "--wait", "--timeout", "5m", timeout=400)
        hook = f"{APP}-consumer-deregister"

        def hook_completed() -> list[str] | None:
            reasons = job_event_reasons(hook)
            return reasons if "Completed" in reasons else None

        report.record("deregister Job events", wait_for(hook_completed, 60, f"a Completed event of the Job {hook}", 3))

    with report.step("helm uninstall --wait leaves no object of the release"):
        wait_for(lambda: not leftovers(), 180, "no object of the release", 3)

    with report.step("reinstall starts clean"):
        uninstalled_at = time.time()
        make("deploy", timeout=1200)
        wait_for(lambda: app_state() == "RUNNING" and driver_pod(), 900, f"{APP} RUNNING again", 5)
        guard = kubectl("logs", DRIVER, "-c", "checkpoint-guard")
        assert '"resumed": false' in guard, guard
        created = json.loads(next(x for x in guard.splitlines() if '"checkpoint_ok"' in x))["identity"][
            "stream_created"
        ]
        assert created > uninstalled_at - 5, "the reinstall reused the earlier stream"
        reader = EnrichedReader(aws)
        wait_for(lambda: sum(reader.ids().values()), 900, "enriched rows after the reinstall", 5)
        tally = stream_tally(aws)
        unexpected = set(reader.ids()) - tally.valid_ids
        assert not unexpected, f"{len(unexpected)} rows of the earlier install survived the reinstall"

    if os.environ.get("KIND_E2E_KEEP"):
        report.say("KIND_E2E_KEEP set: the cluster stays up (no make kind-down)")
        return
    with report.step("make kind-down leaves no container"):
        make("kind-down", timeout=600)
        left = run(
            ENGINE or "podman",
            "ps",
            "-a",
            "--filter",
            f"label=io.x-k8s.kind.cluster={CLUSTER}",
            "--format",
            "{{.Names}}",
        )
        assert left.strip() == "", f"containers left: {left}"
