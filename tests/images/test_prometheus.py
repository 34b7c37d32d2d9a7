"""images/prometheus: the Prometheus server built from source, run the way the kind loop runs it.

Builds the image once (scripts/build-image.sh prometheus: needs Go; a cold compile takes minutes,
a cached one seconds), then checks what a user of the image notices: the binary is the pinned
release (the same module version as promtool), it runs as 65534 on a read-only root with only
/prometheus writable, and without the web UI's assets its HTTP API serves readiness, queries over
what it scraped, rules and a firing alert.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from image_support import Engine, build_go_image
from prometheus_image import image, pinned, version_line

pytestmark = pytest.mark.images

ALERT = "AlwaysFiring"
T = TypeVar("T")


@pytest.fixture(scope="module")
def prometheus_image(engine: Engine) -> str:
    return build_go_image(engine, "prometheus", image(), 1800)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _api(base: str, path: str) -> Any:
    status, body = _get(base + path)
    assert status == 200, (path, status, body[:500])
    answer = json.loads(body)
    assert answer["status"] == "success", answer
    return answer["data"]


@pytest.fixture(scope="module")
def server(engine: Engine, prometheus_image: str, tmp_path_factory: pytest.TempPathFactory):
    """The server on 127.0.0.1 (host network), as the kind Deployment runs it: read-only root,
    no capabilities, an empty /prometheus, its config and rules mounted read-only; it scrapes
    itself every second and evaluates one always-firing alert. Yields its URL and data directory."""
    port = _free_port()
    config = tmp_path_factory.mktemp("prometheus-config")
    (config / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "rule_files: [/etc/prometheus/config/rules.yaml]\n"
        "scrape_configs:\n"
        f"  - job_name: self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
    )
    (config / "rules.yaml").write_text(
        "groups:\n"
        "  - name: test\n"
        "    rules:\n"
        f"      - alert: {ALERT}\n"
        "        expr: vector(1)\n"
        "        labels: {severity: none}\n"
        "        annotations: {summary: always firing}\n"
    )
    config.chmod(0o755)  # readable by the container's user 65534
    for f in config.iterdir():
        f.chmod(0o644)
    # what an emptyDir is: an empty directory, mode 0777, root's (podman 4.3's --tmpfs takes the
    # mode of the image's /prometheus but not its owner, so a host directory stands in)
    data = tmp_path_factory.mktemp("prometheus-data")
    data.chmod(0o777)
    name = f"prometheus-test-{port}"
    engine.run(
        "run", "-d", "--rm", "--name", name, "--network", "host", "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "-v", f"{data}:/prometheus",
        "-v", f"{config}:/etc/prometheus/config:ro", prometheus_image,
        "--config.file=/etc/prometheus/config/prometheus.yml", "--storage.tsdb.path=/prometheus",
        f"--web.listen-address=127.0.0.1:{port}",
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(base + "/-/ready")[0] == 200:
                    break
            except OSError:
                pass
            running = engine.run("inspect", "--format", "{{.State.Running}}", name, check=False)
            if running.stdout.strip() != "true" or time.monotonic() > deadline:
                logs = engine.run("logs", name, check=False)
                pytest.fail(f"the server did not get ready:\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}")
            time.sleep(0.5)
        yield base, data
    finally:
        engine.run("rm", "-f", name, check=False)


def _eventually(check: Callable[[], T], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_the_binary_is_the_pinned_release(engine: Engine, prometheus_image: str) -> None:
    out = engine.run("run", "--rm", "--network", "none", prometheus_image, "--version").stdout
    assert out.splitlines()[0] == version_line("prometheus"), out
    info = dict(line.strip().split(":", 1) for line in out.splitlines()[1:] if ":" in line)
    assert info["platform"].strip().startswith("linux/") and info["go version"].strip().startswith("go1."), out
    assert info["tags"].strip() == pinned("PROMETHEUS_SERVER_TAGS"), out
    label = engine.inspect(prometheus_image, '{{index .Config.Labels "org.opencontainers.image.version"}}')
    assert label == pinned("PROMETHEUS_RELEASE")


def test_the_image_runs_as_65534_with_the_data_directory(engine: Engine, prometheus_image: str) -> None:
    assert engine.inspect(prometheus_image, "{{.Config.User}}") == "65534:65534"
    assert engine.inspect(prometheus_image, "{{.Config.WorkingDir}}") == "/prometheus"
    assert engine.inspect(prometheus_image, "{{json .Config.Entrypoint}}") == '["/usr/local/bin/prometheus"]'
    owner = engine.run(
        "run", "--rm", "--network", "none", "--entrypoint", "stat", prometheus_image,
        "-c", "%u:%g %a", "/prometheus", "/etc/prometheus/prometheus.yml",
    ).stdout.split("\n")  # fmt: skip
    assert owner[:2] == ["65534:65534 775", "0:0 644"], owner


def test_the_server_is_ready_and_healthy(server: tuple[str, Path]) -> None:
    base, _ = server
    assert _get(base + "/-/ready")[0] == 200
    assert _get(base + "/-/healthy")[0] == 200


def test_a_query_sees_what_it_scraped(server: tuple[str, Path]) -> None:
    base, _ = server

    def up() -> list[dict[str, Any]]:
        data = _api(base, "/api/v1/query?query=up")
        assert data["resultType"] == "vector" and data["result"], data
        return data["result"]

    (series,) = _eventually(up)
    assert series["metric"]["job"] == "self" and series["value"][1] == "1", series
    build = _api(base, "/api/v1/query?query=prometheus_build_info")["result"]
    assert build and build[0]["metric"]["version"] == pinned("PROMETHEUS_RELEASE"), build


def test_the_rule_is_loaded_and_its_alert_fires(server: tuple[str, Path]) -> None:
    base, _ = server

    def firing() -> dict[str, Any]:
        alerts = _api(base, "/api/v1/alerts")["alerts"]
        assert [a["labels"]["alertname"] for a in alerts] == [ALERT], alerts
        assert alerts[0]["state"] == "firing", alerts
        return alerts[0]

    alert = _eventually(firing)
    assert alert["labels"]["severity"] == "none" and alert["annotations"]["summary"] == "always firing"
    (group,) = _api(base, "/api/v1/rules")["groups"]
    (rule,) = group["rules"]
    assert (rule["name"], rule["type"], rule["health"], rule["query"]) == (ALERT, "alerting", "ok", "vector(1)")


def test_the_data_directory_holds_the_tsdb(server: tuple[str, Path]) -> None:
    # the root is read-only: a server that needed to write elsewhere would not have started
    _, data = server
    assert {"wal", "queries.active"} <= {p.name for p in data.iterdir()}
