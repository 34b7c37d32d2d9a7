"""``make run``: the whole pipeline on this machine, in the foreground, until Ctrl-C.

Starts ``moto_server`` (Kinesis + S3) on 127.0.0.1:4566 unless something already answers
there (e.g. LocalStack), the publisher on 127.0.0.1:8000 (gunicorn), and the Spark job
(``local[*]``). Prints where to look and a progress line per batch; Ctrl-C, SIGTERM, SIGHUP
(the terminal closing) or the death of its parent stops every process it started, newest
first: the job, then the publisher, then the emulator. State (checkpoints, position logs, logs) lives under
``STATE_DIR`` (default ``.state/``), which ``make reset`` removes. ``CLUSTER=standalone`` runs
the job on a Spark standalone master with two workers instead of ``local[*]``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from common.contract import OUTPUTS
from common.env import SettingError
from ops.defaults import state_dir as default_state_dir
from ops.defaults import with_local_defaults
from ops.processes import Child, die_with_parent, port_open, start, start_moto, stop_all, wait_for_http
from ops.settings import read_all
from ops.standalone import start_cluster, submit_command

_PROGRESS_EVENTS = {
    "job_started",
    "batch_completed",
    "articles_batch_written",
    "query_failed",
    "job_stopped",
    "kinesis_retry",
    "stop_requested",
    "batch_slow",
    "outage_retry",
    "query_restarted",
    "outage_recovered",
    "outage_deadline_passed",
}


def local_environment(state: str) -> dict[str, str]:
    """The environment every local process gets: embedded defaults unless the user set them."""
    env = with_local_defaults(os.environ, state)
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    return env


def describe(event: dict[str, Any]) -> str | None:
    """A one-line human summary of a job log event, or None to keep it in the log file only."""
    name = event.get("event")
    if name not in _PROGRESS_EVENTS:
        return None
    stamp = str(event.get("ts", ""))[11:19]
    if name == "batch_completed":
        lag = ", ".join(
            f"{shard[-3:]}: {info.get('records')} rec/{info.get('millis_behind_latest')} ms behind"
            for shard, info in (event.get("shards") or {}).items()
        )
        return (
            f"{stamp} {event['query']:<12} batch {event['batch']:>5}  {event['input_rows']:>6} rows "
            f"{event['rows_per_second']:>9} rows/s  {event['duration_ms']} ms  watermark {event['watermark']}"
            f"  [{lag}]"
        )
    if name == "articles_batch_written":
        return (
            f"{stamp} articles     batch {event['batch']:>5}  enriched {event['enriched']}, "
            f"quarantined {event['quarantined']}"
        )
    details = {k: v for k, v in event.items() if k not in ("ts", "level", "logger", "event")}
    return f"{stamp} {name}: {json.dumps(details)[:400]}"


def job_lines(child: Child) -> Iterator[bytes]:
    assert child.process.stdout is not None
    yield from iter(child.process.stdout.readline, b"")


def follow_job(child: Child) -> None:
    """Copy the job's output to its log file and print progress lines."""
    with open(child.log_path, "ab") as log:
        for line in job_lines(child):
            log.write(line)
            log.flush()
            text = line.decode("utf-8", "replace").strip()
            if text.startswith("{"):
                try:
                    summary = describe(json.loads(text))
                except ValueError:
                    summary = None
                if summary:
                    print(summary, flush=True)


def discard_stale_checkpoints(checkpoint_location: str, state_dir: str) -> bool:
    """Remove the checkpoints of an earlier run when this run starts a new, empty moto_server.

    moto keeps nothing between runs, so those checkpoints point into a stream that no longer
    exists (the job would refuse them: the stream was recreated). Only a location under the
    state directory is removed; any other is left for the user to decide.
    """
    location = os.path.abspath(checkpoint_location)
    inside_state = os.path.commonpath([location, os.path.abspath(state_dir)]) == os.path.abspath(state_dir)
    if not inside_state or not os.path.isdir(location) or not os.listdir(location):
        return False
    shutil.rmtree(location)
    return True


def banner(env: dict[str, str], state_dir: str, bucket: str, emulator_started: bool) -> str:
    endpoint = env["AWS_ENDPOINT_URL"]
    return "\n".join(
        [
            "article-pipeline is starting (Ctrl-C stops everything):",
            f"  emulator      {endpoint} ({'moto_server started here' if emulator_started else 'already running'})",
            f"  publisher     http://{env['PUBLISHER_BIND']}/health   metrics: /metrics",
            "  Spark UI      http://127.0.0.1:4040 (and :4041 when busy)",
            f"  job metrics   http://{env['JOB_METRICS_BIND']}/metrics (Kinesis lag per shard, batches, quarantine)",
            "  outputs       " + "  ".join(f"s3://{bucket}/{name}/" for name in OUTPUTS),
            "  look at them  make inspect      reconcile: make reconcile",
            f"  state, logs   {state_dir}/ (make reset removes it)",
            "  author_stats rows appear once the watermark passes a window's end (a few minutes in);",
            "  enriched_articles/ is the low-latency output.",
        ]
    )


def held_ports(publisher_bind: str) -> str | None:
    """Why ``make run`` cannot start when a port it needs is taken (e.g. by a previous run's leftovers)."""
    host, _, port = publisher_bind.rpartition(":")
    if port_open(host or "127.0.0.1", int(port)):
        return (
            f"port {port} (PUBLISHER_BIND={publisher_bind}) is already in use, probably by an earlier run's "
            f"publisher: stop it (`fuser -k {port}/tcp`, or `pkill -f publisher.bootstrap`) or set PUBLISHER_BIND "
            "to another address"
        )
    return None


def job_command(cluster: str, env: dict[str, str], log_dir: str, children: list[Child]) -> list[str]:
    """The command that runs the job: in-process ``local[*]``, or submitted to a standalone cluster started here."""
    job_file = os.path.join(os.getcwd(), "jobs", "process_articles.py")
    if cluster != "standalone":
        return [sys.executable, job_file]
    standalone = start_cluster(env, log_dir)
    children.extend(standalone.children)
    env["SPARK_MASTER_URL"] = standalone.master_url
    print(f"spark standalone: master {standalone.master_url}, UI {standalone.ui_url}, 2 workers", flush=True)
    return submit_command(standalone.master_url, job_file)


def main() -> int:
    state_dir = default_state_dir()
    env = local_environment(state_dir)
    try:
        settings = read_all(env)
    except SettingError as error:
        print(f"make run: invalid setting: {error}", file=sys.stderr)
        return 2
    publisher_settings, job_settings = settings.publisher, settings.job
    held = held_ports(publisher_settings.bind)
    if held:
        print(f"make run: {held}", file=sys.stderr)
        return 2
    log_dir = os.path.join(state_dir, "logs")
    children: list[Child] = []
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stopping.set()

    # Ctrl-C, SIGTERM, the terminal closing (SIGHUP) or the death of `make` itself: a normal stop.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    die_with_parent()
    endpoint = urlparse(env["AWS_ENDPOINT_URL"])
    emulator_started = False
    try:
        if endpoint.hostname in ("127.0.0.1", "localhost") and not port_open(endpoint.hostname, endpoint.port or 80):
            children.append(start_moto(log_dir, env, endpoint.port or 80)[0])
            emulator_started = True
            if discard_stale_checkpoints(job_settings.checkpoint_location, state_dir):
                print(
                    f"moto_server started empty: removed the previous run's checkpoints "
                    f"({job_settings.checkpoint_location}), which belong to a stream that is gone",
                    flush=True,
                )
        print(banner(env, state_dir, job_settings.bucket_name, emulator_started), flush=True)
        children.append(start("publisher", [sys.executable, "-m", "publisher"], env, log_dir))
        wait_for_http(f"http://{publisher_settings.bind}/health/live", 60, children[-1])
        print(f"publisher ready: http://{publisher_settings.bind}/health", flush=True)
        job = start(
            "job", job_command(settings.ops.cluster, env, log_dir, children), env, log_dir, stdout=subprocess.PIPE
        )
        children.append(job)
        threading.Thread(target=follow_job, args=(job,), daemon=True).start()
        while not stopping.wait(0.5):
            for child in children:
                if child.process.poll() is not None:
                    print(
                        f"{child.name} exited with code {child.process.returncode}; see {child.log_path}",
                        file=sys.stderr,
                        flush=True,
                    )
                    stopping.set()
                    return 1
        return 0
    except (RuntimeError, TimeoutError) as error:
        print(f"make run: {error}", file=sys.stderr)
        return 1
    finally:
        print("stopping: " + ", ".join(c.name for c in children), flush=True)
        stop_all(children)
        print("all processes stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
