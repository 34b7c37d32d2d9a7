"""Whatever ends ``make run`` ends everything it started; held ports are refused with what to do."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_testing import REPO, processes_with_state_dir, wait_until

from ops.processes import free_port, port_open

pytestmark = pytest.mark.e2e


def run_env(tmp_path: Path) -> tuple[dict[str, str], str, int]:
    bind = f"127.0.0.1:{free_port()}"
    moto_port = free_port()
    env = {
        **os.environ,
        "STATE_DIR": str(tmp_path / "state"),
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "PUBLISHER_BIND": bind,
        "PUBLISH_RATE": "5",
        "SPARK_MASTER_URL": "local[1]",
    }
    return env, bind, moto_port


def wait_for_publisher(bind: str, output: Path, run: subprocess.Popen[bytes]) -> None:
    def ready() -> bool:
        if run.poll() is not None:
            raise AssertionError(f"exited {run.returncode}:\n{output.read_text()[-3000:]}")
        return "publisher ready" in output.read_text()

    wait_until(ready, 180, "the publisher to be ready under make run")


def assert_all_gone(state_dir: Path, bind: str, moto_port: int) -> None:
    wait_until(lambda: not processes_with_state_dir(state_dir), 90, "every process make run started to exit")
    host, _, port = bind.rpartition(":")
    assert not port_open(host, int(port)), "publisher port still held"
    assert not port_open("127.0.0.1", moto_port), "emulator port still held"


@pytest.mark.parametrize("how", ["SIGHUP to make run (terminal closed)", "SIGKILL of its parent"])
def test_nothing_is_left_running(how: str, tmp_path: Path) -> None:
    env, bind, moto_port = run_env(tmp_path)
    output = tmp_path / "run.log"
    if how.startswith("SIGHUP"):
        command = [sys.executable, "-m", "ops.run"]
    else:  # a parent that is not the run itself, killed without a chance to clean up
        command = ["bash", "-c", f"{sys.executable} -m ops.run; echo ended"]
    run = subprocess.Popen(command, env=env, cwd=REPO, stdout=output.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_for_publisher(bind, output, run)
        assert processes_with_state_dir(tmp_path / "state"), "the run's processes are visible"
        run.send_signal(signal.SIGHUP if how.startswith("SIGHUP") else signal.SIGKILL)
        run.wait(60)
        assert_all_gone(tmp_path / "state", bind, moto_port)
    finally:
        for pid in processes_with_state_dir(tmp_path / "state"):
            os.kill(pid, signal.SIGKILL)
    if how.startswith("SIGHUP"):
        text = output.read_text()
        assert "all processes stopped" in text
        assert text.index("stopping: ") < text.index("all processes stopped")


def test_a_held_publisher_port_is_refused_with_what_to_do(tmp_path: Path) -> None:
    env, bind, _ = run_env(tmp_path)
    host, _, port = bind.rpartition(":")
    with socket.socket() as holder:
        holder.bind((host, int(port)))
        holder.listen()
        result = subprocess.run(
            [sys.executable, "-m", "ops.run"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 2
    assert f"port {port}" in result.stderr and "PUBLISHER_BIND" in result.stderr and "fuser -k" in result.stderr
    assert not processes_with_state_dir(tmp_path / "state"), "nothing was started"


@pytest.mark.parametrize(
    ("setting", "value", "accepted"),
    [
        ("LOG_LEVEL", "verbose", "DEBUG, INFO, WARNING, ERROR"),
        ("WATERMARK_DELAY", "500", "a bare number is ambiguous"),
        ("TRIGGER_INTERVAL", "5m", "write 'min' for minutes"),
        ("STARTING_POSITION", "YESTERDAY", "TRIM_HORIZON, LATEST"),
        ("PUBLISHER_BIND", "8000", "host:port"),
        ("CLUSTER", "yarn", "local, standalone"),
    ],
)
def test_a_bad_setting_stops_make_run_before_anything_starts(
    setting: str, value: str, accepted: str, tmp_path: Path
) -> None:
    env, _, moto_port = run_env(tmp_path)
    env[setting] = value
    result = subprocess.run(
        [sys.executable, "-m", "ops.run"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert f"make run: invalid setting: {setting}" in result.stderr and repr(value) in result.stderr
    assert accepted in result.stderr
    assert not port_open("127.0.0.1", moto_port), "the emulator was started"
    assert not processes_with_state_dir(tmp_path / "state"), "nothing was started"
