"""The real server (``python -m publisher``: gunicorn, 1 worker, 4 threads) against moto: slow clients, token file.

Clients that stall, part way through a request or after it, must cost no thread: twice as many
of them as there are threads leave the probes answering within 2 s (publisher/http_worker.py).
Requests whose head arrives in pieces, kept-alive and pipelined ones are still served whole.
A new token written to ``PUBLISHER_API_TOKEN_FILE`` opens ``POST /articles`` without a restart.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from pipeline_testing import REPO, wait_until

from ops.processes import Child, free_port, start, stop_all
from publisher.http_worker import HEAD_TIMEOUT_SECONDS

pytestmark = pytest.mark.integration
TOKEN = "a-token-nobody-guesses"
STALLED = 8  # twice the publisher's threads (publisher/gunicorn_conf.py)
PROBE_SECONDS = 2.0


@pytest.fixture(scope="module")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture(scope="module")
def server(moto_endpoint: str, token_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(host, port) of one publisher process, POST /articles on, serving until the module's tests end."""
    suffix = uuid.uuid4().hex[:10]
    port = free_port()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "KINESIS_STREAM_NAME": f"articles-{suffix}",
        "S3_BUCKET_NAME": f"bucket-{suffix}",
        "PUBLISH_COUNT": "1",
        "PUBLISHER_API_TOKEN_FILE": str(token_file),
        "PUBLISHER_BIND": f"127.0.0.1:{port}",
        "PYTHONPATH": str(REPO),
    }
    child = start("publisher", [sys.executable, "-m", "publisher"], env, str(tmp_path_factory.mktemp("publisher")))
    address = ("127.0.0.1", port)
    try:
        wait_until(lambda: started(child, address), 60, "the publisher to answer")
        yield address
    finally:
        stop_all([child], grace_seconds=20)


def started(child: Child, address: tuple[str, int]) -> bool:
    if child.process.poll() is not None:
        raise AssertionError(f"the publisher exited:\n{Path(child.log_path).read_text()[-3000:]}")
    try:
        return status_of(address, "/health/live", timeout=2) == 200
    except OSError:
        return False


def status_of(address: tuple[str, int], path: str, timeout: float) -> int:
    """The status of ``GET path`` on a new connection, within ``timeout`` seconds."""
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: publisher\r\nConnection: close\r\n\r\n".encode())
        return read_response(sock.makefile("rb"))[0]


def read_response(stream: IO[bytes]) -> tuple[int, bytes]:
    """Status and body of the next response on ``stream`` (a body of Content-Length bytes)."""
    status = int(stream.readline().split()[1])
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, stream.read(length)


def request(method: str, path: str, body: bytes = b"", headers: str = "") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: publisher\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body
    )


STALLING = {
    "nothing": b"",
    "one byte": b"G",
    "a head without its end": b"GET /health/live HTTP/1.1\r\nHost: publisher\r\n",
    "headers of a body never sent": b"POST /articles HTTP/1.1\r\nHost: publisher\r\nContent-Length: 100\r\n\r\n",
    "a request, then neither reading nor closing": request("GET", "/health/live", headers="Connection: close\r\n"),
}


@pytest.mark.parametrize("sent", list(STALLING), ids=list(STALLING))
def test_probes_answer_within_2_s_while_twice_as_many_clients_as_threads_stall(
    server: tuple[str, int], sent: str
) -> None:
    stalled = [socket.create_connection(server, timeout=5) for _ in range(STALLED)]
    try:
        for sock in stalled:
            sock.sendall(STALLING[sent])
        for path in ("/health/live", "/health"):
            started_at = time.monotonic()
            try:
                status = status_of(server, path, timeout=PROBE_SECONDS)
            except TimeoutError:
                pytest.fail(f"{path} did not answer within {PROBE_SECONDS} s while {STALLED} clients stalled")
            assert status == 200, f"{path} answered {status}"
            assert time.monotonic() - started_at < PROBE_SECONDS
    finally:
        for sock in stalled:
            sock.close()


def test_heads_in_pieces_kept_alive_and_pipelined_requests_are_served_whole(server: tuple[str, int]) -> None:
    article = {
        "article_id": str(uuid.uuid4()),
        "author": "Ada",
        "title": "A title",
        "body": "three words here",
        "published_at": "2026-01-01T00:00:00Z",
    }
    post = request(
        "POST",
        "/articles",
        json.dumps(article).encode(),
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n",
    )
    with socket.create_connection(server, timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = sock.makefile("rb")
        sock.sendall(post[:40])
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)  # no answer to half a head
        sock.settimeout(10)
        sock.sendall(post[40:])
        status, body = read_response(stream)
        assert status == 202, body
        assert json.loads(body)["results"][0]["article_id"] == article["article_id"]
        # The same connection again: two requests in one write, the second one's head cut in two.
        second = request("GET", "/health/live")
        sock.sendall(request("GET", "/health") + second[:10])
        assert read_response(stream)[0] == 200
        sock.sendall(second[10:])
        status, body = read_response(stream)
        assert (status, json.loads(body)) == (200, {"status": "alive"})


def test_a_head_over_64_kib_gets_431(server: tuple[str, int]) -> None:
    with socket.create_connection(server, timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nX-Padding: " + b"x" * 70_000)
        assert read_response(sock.makefile("rb"))[0] == 431


def test_a_head_that_never_ends_is_closed_after_the_head_timeout(server: tuple[str, int]) -> None:
    with socket.create_connection(server, timeout=HEAD_TIMEOUT_SECONDS + 5) as sock:
        started_at = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        assert sock.recv(1024) == b"", "the server closes the connection, answering nothing"
        assert HEAD_TIMEOUT_SECONDS - 0.5 < time.monotonic() - started_at < HEAD_TIMEOUT_SECONDS + 3


def test_a_new_token_in_the_file_opens_the_endpoint_without_a_restart(
    server: tuple[str, int], token_file: Path
) -> None:
    new = "a-new-token-nobody-guesses"

    def post_with(token: str) -> int:
        with socket.create_connection(server, timeout=10) as sock:
            sock.sendall(request("POST", "/articles", b"{}", f"Authorization: Bearer {token}\r\nConnection: close\r\n"))
            return read_response(sock.makefile("rb"))[0]

    assert (post_with(TOKEN), post_with(new)) == (400, 401), "400: let in, but {} is no article"
    token_file.write_text(new + "\n")
    try:
        assert (post_with(TOKEN), post_with(new)) == (401, 400)
    finally:
        token_file.write_text(TOKEN + "\n")
