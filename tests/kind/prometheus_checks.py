"""The release watched by a live Prometheus (`make prometheus`: a server built from source, scraping the
release's pods by their annotations and evaluating the chart's alerts), queried through its HTTP API:

- every shard of the stream has its Kinesis lag (`article_pipeline_kinesis_millis_behind_latest`);
- the counters rise while the publisher publishes: articles published, rows read, rows appended;
- the staleness alert (`ArticlePipelineNoBatchCompleted`) fires when the job stops completing batches
  (its JVM frozen with SIGSTOP, the driver pod and its metrics endpoint still up) and resolves once it
  is back (SIGCONT), with the chart's default thresholds.
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

from kind_testing import (
    DRIVER,
    NAMESPACE,
    PUBLISHER,
    STREAM,
    Report,
    json_at,
    make,
    port_forward,
    signal_java,
    wait_for,
)

STALENESS_ALERT = "ArticlePipelineNoBatchCompleted"


@contextlib.contextmanager
def prometheus() -> Iterator[str]:
    """The kind cluster's Prometheus API (monitoring/prometheus) through a port-forward, once ready."""
    with port_forward("svc/prometheus", 9090, namespace="monitoring") as url:
        wait_for(lambda: _ready(url), 120, "Prometheus answering its API", 2)
        yield url


def _ready(url: str) -> bool:
    with contextlib.suppress(OSError):
        return bool(json_at(f"{url}/api/v1/status/buildinfo")["status"] == "success")
    return False


def query(url: str, promql: str) -> list[dict[str, Any]]:
    """The instant vector of `promql` (each element: `metric` labels, `value` [time, "number"])."""
    answer = json_at(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}")
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def total(url: str, promql: str) -> float:
    return sum(float(sample["value"][1]) for sample in query(url, promql))


def alert_states(url: str, name: str) -> set[str]:
    """The states (pending, firing) of the active alerts called `name` in the release's namespace."""
    alerts = json_at(f"{url}/api/v1/alerts")["data"]["alerts"]
    return {
        a["state"] for a in alerts if a["labels"].get("alertname") == name and a["labels"].get("namespace") == NAMESPACE
    }


def prometheus_sees_the_release(report: Report, aws: Any) -> None:
    """`make prometheus`, then per-shard lag for every shard of the stream and counters rising."""
    from common.aws import client

    started = time.monotonic()
    make("prometheus", timeout=3600)
    report.record("seconds for make prometheus", round(time.monotonic() - started))
    shards = {s["ShardId"] for s in client("kinesis", aws).list_shards(StreamName=STREAM)["Shards"]}
    ns = f'namespace="{NAMESPACE}"'
    with prometheus() as url:

        def pods_up() -> list[str] | None:
            pods = sorted(sample["metric"]["pod"] for sample in query(url, f"up{{{ns}}} == 1"))
            return pods if DRIVER in pods and any(p.startswith(f"{PUBLISHER}-") for p in pods) else None

        report.record("pods scraped", wait_for(pods_up, 180, "the driver and the publisher scraped (up == 1)", 3))

        def lag_of_every_shard() -> dict[str, float] | None:
            samples = query(url, f'article_pipeline_kinesis_millis_behind_latest{{{ns},query="articles"}}')
            lag = {s["metric"]["shard"]: float(s["value"][1]) for s in samples}
            return lag if set(lag) == shards else None

        lag = wait_for(lag_of_every_shard, 180, f"the Kinesis lag of every shard ({sorted(shards)})", 3)
        report.record("Kinesis lag per shard (ms)", lag)

        counters = {
            "published": f"articles_published_total{{{ns}}}",
            "rows read": f'article_pipeline_input_rows_total{{{ns},query="articles"}}',
            "rows appended": f'article_pipeline_table_rows_appended_total{{{ns},table="enriched_articles"}}',
            "batches": f'article_pipeline_batches_total{{{ns},query="articles"}}',
        }
        before = {name: total(url, promql) for name, promql in counters.items()}

        def all_rose() -> dict[str, float] | None:
            after = {name: total(url, promql) for name, promql in counters.items()}
            return after if all(after[name] > before[name] for name in counters) else None

        after = wait_for(all_rose, 180, f"every counter rising from {before}", 5)
        report.record("counters before -> after", {name: [before[name], after[name]] for name in counters})


def staleness_alert_fires_and_resolves(report: Report) -> None:
    """Freeze the driver's JVM until the staleness alert fires, let it go, wait until it resolves."""
    with prometheus() as url:
        assert STALENESS_ALERT not in {
            a["labels"]["alertname"] for a in json_at(f"{url}/api/v1/alerts")["data"]["alerts"]
        }, "the staleness alert is active before the job stops"
        frozen = time.monotonic()
        signal_java("STOP")
        try:
            wait_for(lambda: alert_states(url, STALENESS_ALERT), 420, f"{STALENESS_ALERT} pending", 5)
            pending_after = time.monotonic() - frozen
            wait_for(lambda: "firing" in alert_states(url, STALENESS_ALERT), 300, f"{STALENESS_ALERT} firing", 5)
            firing_after = time.monotonic() - frozen
        finally:
            signal_java("CONT")
        resumed = time.monotonic()
        wait_for(lambda: not alert_states(url, STALENESS_ALERT), 420, f"{STALENESS_ALERT} resolved", 5)
        report.record(
            "staleness alert (s)",
            {
                "pending after freeze": round(pending_after),
                "firing after freeze": round(firing_after),
                "resolved after resume": round(time.monotonic() - resumed),
            },
        )
