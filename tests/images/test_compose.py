"""compose.yaml run for real: the seed's `up -d`, `restart spark-app` and `down -v`, with podman-compose.

The project's own images (both app images from the session build, LocalStack from
scripts/build-image.sh localstack, cached), a unique project name and free host ports (the
compose file's *_HOST_PORT variables). The publisher stops after PUBLISH_COUNT articles, so the
outputs can be reconciled exactly: every published article is in enriched_articles or in
quarantine, once each, across a restart of the job that resumes from the checkpoint volume.
`down -v` (also run if the test fails) must leave no container, network or volume of the project.
Slow: Spark's start on 2 cores takes a minute or two before the first row.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from image_support import REPO, TAG, Engine
from pipeline_testing import wait_until

pytestmark = pytest.mark.images

# 400 articles at 2 a second: still publishing when the first rows land, so the restart is mid-stream
PUBLISH_COUNT, PUBLISH_RATE = 400, 2
STREAM, BUCKET = "articles", "my-bucket"
LOCALSTACK_IMAGE = "localhost/article-pipeline/localstack:4.14.0"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _progress(message: str) -> None:
    print(f"[compose {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _compose_command(engine: Engine) -> list[str]:
    """podman-compose from this virtual environment (uv.lock), or docker's own compose plugin.

    podman >= 4.7 also has `podman compose`, which runs this same podman-compose; podman 4.3 does not.
    """
    if engine.name == "docker":
        return ["docker", "compose"]
    tool = Path(sys.executable).parent / "podman-compose"
    if not tool.exists():
        pytest.fail(f"{tool} is missing: `make venv` installs podman-compose from uv.lock")
    return [str(tool)]


@dataclass
class Project:
    """One compose project of this test: its name, host ports and the compose command."""

    engine: Engine
    command: list[str]
    name: str
    env: dict[str, str]
    publisher_port: int
    localstack_port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.localstack_port}"

    def compose(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*self.command, "-f", str(REPO / "compose.yaml"), "-p", self.name, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"compose {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        return proc

    def logs(self, service: str) -> str:
        proc = self.compose("logs", service, check=False, timeout=60)
        return (proc.stdout + proc.stderr)[-5000:]

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, networks, volumes (and podman's pods) of this project still on the engine."""

        def named(*args: str) -> list[str]:
            return [
                name for name in self.engine.run(*args, "--format", "{{.Name}}").stdout.split() if self.name in name
            ]

        found = {
            "containers": self.engine.run(
                "ps", "-a", "--filter", f"label=com.docker.compose.project={self.name}", "--format", "{{.Names}}"
            ).stdout.split(),
            "networks": named("network", "ls"),
            "volumes": named("volume", "ls"),
        }
        if self.engine.name == "podman":
            found["pods"] = named("pod", "ps")
        return {kind: names for kind, names in found.items() if names}


@pytest.fixture
def localstack_image(engine: Engine) -> str:
    """LocalStack 4.14.0 as `make localstack-image` builds it (a no-op when up to date)."""
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-image.sh"), "localstack"],
        cwd=REPO,
        env=dict(os.environ, CONTAINER_ENGINE=engine.name),
        capture_output=True,
        text=True,
        timeout=2400,
    )
    assert proc.returncode == 0, f"LocalStack image build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return LOCALSTACK_IMAGE


@pytest.fixture
def project(
    engine: Engine, built_images: Any, localstack_image: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Project]:
    """A compose project on free ports; `down -v` afterwards whatever happened."""
    # LocalStack's dummy keys, for this test's own reads (deltalake takes them from the environment)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    ports = {
        name: _free_port() for name in ("PUBLISHER_HOST_PORT", "LOCALSTACK_HOST_PORT", "SPARK_MASTER_UI_HOST_PORT")
    }
    env = dict(
        os.environ, IMAGE_TAG=TAG, PUBLISH_COUNT=str(PUBLISH_COUNT), PUBLISH_RATE=str(PUBLISH_RATE), PUBLISHER_SEED="28"
    )
    env.update({name: str(port) for name, port in ports.items()})
    env.update(KINESIS_STREAM_NAME=STREAM, S3_BUCKET_NAME=BUCKET)
    # podman >= 4.7's `podman compose` finds its provider through this variable; podman-compose ignores it
    env["PODMAN_COMPOSE_PROVIDER"] = _compose_command(engine)[0]
    project = Project(
        engine=engine,
        command=_compose_command(engine),
        name=f"aptest{uuid.uuid4().hex[:8]}",
        env=env,
        publisher_port=ports["PUBLISHER_HOST_PORT"],
        localstack_port=ports["LOCALSTACK_HOST_PORT"],
    )
    try:
        yield project
    finally:
        # the same reset users run; a failure above still leaves nothing behind
        project.compose("down", "-v", check=False, timeout=300)


def _health(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return dict(json.load(response))
    except (OSError, ValueError, urllib.error.URLError):
        return None


def _rows(project: Project, table: str) -> list[dict[str, Any]]:
    """A Delta table as `make inspect` reads it (ops.outputs through LocalStack's S3); [] before its first commit."""
    from common.settings import AwsSettings
    from ops.outputs import open_table

    opened = open_table(AwsSettings(region="us-east-1", endpoint_url=project.endpoint), BUCKET, table)
    return [] if opened is None else opened.to_pyarrow_table().to_pylist()


def _batch_ids(project: Project) -> list[int]:
    """Micro-batch ids in the checkpoint volume's offset logs (every query), as seen from spark-app."""
    proc = project.compose(
        "exec", "-T", "spark-app", "sh", "-c", "ls /checkpoints/*/offsets/ 2>/dev/null", check=False, timeout=60
    )
    return sorted(int(name) for name in proc.stdout.split() if name.isdigit())


def test_compose_up_restart_down(project: Project) -> None:
    started = time.monotonic()
    up = project.compose("up", "-d", timeout=600)
    _progress(f"up -d returned in {time.monotonic() - started:.0f} s (project {project.name})")

    # every published port is bound to 127.0.0.1 only
    label = f"label=com.docker.compose.project={project.name}"
    ports = project.engine.run("ps", "--filter", label, "--format", "{{.Ports}}").stdout
    bindings = [binding.strip() for binding in ports.replace("\n", ",").split(",") if "->" in binding]
    assert len(set(bindings)) == 3, ports
    assert all(binding.startswith("127.0.0.1:") for binding in bindings), bindings

    # the publisher answers on its published port
    health = wait_until(lambda: _health(project.publisher_port), 240, "the publisher's /health", interval=2)
    _progress(f"publisher healthy: {health.get('status')}")

    def first_rows() -> list[dict[str, Any]]:
        rows = _rows(project, "enriched_articles")
        _progress(f"enriched_articles rows: {len(rows)}")
        return rows

    try:
        wait_until(first_rows, 600, "the first row in enriched_articles", interval=10)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{up.stdout[-2000:]}\n--- spark-app ---\n{project.logs('spark-app')}") from None
    first_row_seconds = time.monotonic() - started
    _progress(f"first row {first_row_seconds:.0f} s after `up -d`")

    # the seed's listing: awslocal inside the LocalStack container
    listing = project.compose("exec", "-T", "localstack", "awslocal", "s3", "ls", f"s3://{BUCKET}/enriched_articles/")
    assert "_delta_log/" in listing.stdout, listing.stdout

    # restart mid-stream: the job must resume from the checkpoint volume, losing and repeating nothing
    before_batches = _batch_ids(project)
    rows_before = len(_rows(project, "enriched_articles"))
    assert before_batches, "no offset log in the checkpoint volume before the restart"
    published_at_restart = int((_health(project.publisher_port) or {}).get("articles_published", PUBLISH_COUNT))
    project.compose("restart", "spark-app", timeout=300)
    _progress(
        f"spark-app restarted with {rows_before} rows, batches up to {max(before_batches)} in the checkpoint, "
        f"{published_at_restart} of {PUBLISH_COUNT} articles published"
    )

    def publisher_done() -> dict[str, Any] | None:
        health = _health(project.publisher_port)
        return health if health and health.get("done") else None

    done = wait_until(publisher_done, 300, f"the publisher to finish its {PUBLISH_COUNT} articles", interval=5)
    published = int(done["articles_published"])
    assert published == PUBLISH_COUNT, done

    def reconciled() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        enriched, quarantine = _rows(project, "enriched_articles"), _rows(project, "quarantine")
        _progress(f"published {published}, enriched {len(enriched)}, quarantine {len(quarantine)}")
        return (enriched, quarantine) if len(enriched) + len(quarantine) >= published else None

    try:
        enriched, quarantine = wait_until(reconciled, 600, "every published article to land", interval=10)
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- spark-app ---\n{project.logs('spark-app')}") from None
    ids = [row["article_id"] for row in enriched]
    assert len(set(ids)) == len(ids), f"{len(ids) - len(set(ids))} duplicate article_id after the restart"
    assert len(enriched) + len(quarantine) == published, (len(enriched), len(quarantine), published)
    assert len(enriched) >= rows_before

    # the restarted job kept the checkpoint's batches and, with articles published after the
    # restart, continued their numbering instead of starting over
    after_batches = _batch_ids(project)
    assert set(before_batches) <= set(after_batches), (before_batches, after_batches)
    if published_at_restart < PUBLISH_COUNT:
        assert max(after_batches) > max(before_batches), (before_batches, after_batches)
    _progress(
        f"after the restart: {len(enriched)} enriched (distinct ids), {len(quarantine)} quarantined, "
        f"batch ids {min(after_batches)}..{max(after_batches)} (up to {max(before_batches)} before)"
    )

    # the whole project's memory, as docs/compose.md reports it
    if project.engine.name == "podman":
        stats = project.engine.run("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", check=False).stdout
        lines = [line for line in stats.splitlines() if project.name in line]
        units = {"kB": 1e3, "MB": 1e6, "GB": 1e9}
        total = sum(
            float(used[: -len(unit)]) * factor
            for used in (line.split()[1] for line in lines)
            for unit, factor in units.items()
            if used.endswith(unit)
        )
        _progress(f"memory {total / 1e9:.2f} GB in all:\n" + "\n".join(lines))

    down = project.compose("down", "-v", timeout=300)
    assert project.leftovers() == {}, f"`down -v` left {project.leftovers()}:\n{down.stdout[-2000:]}"
    _progress(f"down -v left nothing; {time.monotonic() - started:.0f} s in all")
