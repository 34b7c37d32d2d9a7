"""Starting and stopping the local pipeline's processes, each in its own process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO
from urllib.error import URLError
from urllib.request import urlopen


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: str


def start(
    name: str, command: Sequence[str], env: Mapping[str, str], log_dir: str, stdout: int | IO[bytes] | None = None
) -> Child:
    """Start ``command`` in a new session, output appended to ``<log_dir>/<name>.log`` unless piped."""
    os.makedirs(log_dir, exist_ok=True)
    log_path = os.path.join(log_dir, f"{name}.log")
    target = stdout if stdout is not None else open(log_path, "ab")  # noqa: SIM115 - the child process owns the file
    process = subprocess.Popen(
        list(command), env=dict(env), stdout=target, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Child(name, process, log_path)


def stop_all(children: Sequence[Child], grace_seconds: float = 45.0) -> None:
    """SIGTERM each child's main process (newest first) so it can stop gracefully, then SIGKILL
    whatever is left in its process group (e.g. the JVM a Python driver started)."""
    for child in reversed(children):
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    for child in reversed(children):
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()


def start_moto(log_dir: str, env: Mapping[str, str], port: int | None = None) -> tuple[Child, str]:
    """``moto_server`` (Kinesis + S3) on 127.0.0.1:``port`` (a free port when None), once it answers.

    Returns the child and its endpoint URL; the log is ``<log_dir>/moto.log``.
    """
    port = port or free_port()
    server = os.path.join(os.path.dirname(sys.executable), "moto_server")
    child = start("moto", [server, "-H", "127.0.0.1", "-p", str(port)], env, log_dir)
    endpoint = f"http://127.0.0.1:{port}"
    wait_for_http(f"{endpoint}/moto-api/", 30, child)
    return child, endpoint


def port_open(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_http(url: str, timeout_seconds: float, child: Child | None = None) -> None:
    """Poll ``url`` until it answers (any status) or raise; fail early if ``child`` died."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if child is not None and child.process.poll() is not None:
            raise RuntimeError(f"{child.name} exited with code {child.process.returncode}; see {child.log_path}")
        try:
            with urlopen(url, timeout=1):
                return
        except URLError as error:
            if hasattr(error, "code"):
                return  # an HTTP error status still means the server answers
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_seconds:.0f} s")
