"""Starting and stopping the local pipeline's processes, each in its own process group.

Every child gets a parent-death signal (Linux ``PR_SET_PDEATHSIG``): whatever ends the process
that started it (Ctrl-C, SIGTERM, SIGHUP when the terminal closes, SIGKILL), the child gets
SIGTERM at once and stops as on a normal stop, so nothing is left running.
"""

from __future__ import annotations

import contextlib
import ctypes
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

_PR_SET_PDEATHSIG = 1
# Loaded once here: a child between fork and exec must not import anything.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent exits (Linux; elsewhere a no-op)."""
    if _LIBC is None:
        return
    parent = os.getppid()
    _LIBC.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os.kill(os.getpid(), signum)


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
        list(command),
        env=dict(env),
        stdout=target,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,  # noqa: PLW1509 - only async-signal-safe calls: getppid, prctl, kill
    )
    return Child(name, process, log_path)


def stop_all(children: Sequence[Child], grace_seconds: float = 45.0) -> None:
    """Stop the children newest first, one at a time, so each stops while what it needs still runs
    (the job finishes its batch while the emulator answers): SIGTERM, wait up to ``grace_seconds``,
    then SIGKILL whatever is left in its process group (e.g. the JVM a Python driver started)."""
    for child in reversed(children):
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(grace_seconds)
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
