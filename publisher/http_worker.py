"""The publisher's gunicorn worker: ``gthread``, except that slow clients cost no thread and never block its loop.

gunicorn's ``gthread`` worker runs an event loop (accepting, waiting on kept-alive connections) and
a pool of threads (the publisher has 4: it is one process, which owns the publishing thread). In
gunicorn 27.0.1 three kinds of slow client stop it from answering anyone, liveness probe included
(measured against ``python -m publisher``, 8 clients, 4 threads):

- a client that sends part of a request and stalls: each accepted connection goes to a thread,
  which blocks reading the request; only the wait for the first byte is bounded (5 s). 8 clients
  that sent one byte: ``/health/live`` unanswered after 15 s; that sent nothing: 9.7 s.
- a client that sends a complete request and neither reads the answer nor closes: the event loop
  itself lingers up to 2 s on each such connection before closing it (``util.close_graceful``),
  accepting nothing meanwhile: 13.7 s.
- a client that sends headers announcing a body and stalls: after answering (a 401, say), the
  thread waits up to 5 s for the body it must drain to keep the connection alive: 9.7 s.

Here, instead:

- the event loop reads each request's head (request line and headers, up to the blank line)
  without blocking and hands the connection to a thread only once the head is complete. A head
  must be complete within ``HEAD_TIMEOUT_SECONDS`` of the connection opening (on a kept-alive
  connection, of its next request starting), else the connection is closed; a head over
  ``MAX_HEAD_BYTES`` gets 431.
- a closing connection lingers in the event loop (half-closed, drained until the client closes,
  ``LINGER_SECONDS`` at most) rather than blocking it.
- a body the application left unread is drained only as far as it has already arrived
  (``DRAIN_SECONDS``); a client still sending it loses the keep-alive, not a thread.
- in its thread, each socket read and write of a request's body and answer must make progress
  within ``IO_TIMEOUT_SECONDS``.

Plain HTTP/1.x only, which is what the publisher serves: ``check_config`` refuses TLS, HTTP/2 and
uWSGI, whose first bytes are no HTTP/1 head. Written against gunicorn 27.0.1's
``gunicorn.workers.gthread`` (pinned in pyproject.toml); tests/integration/test_publisher_server.py
proves the guarantee against the real server.
"""

from __future__ import annotations

import contextlib
import errno
import math
import selectors
import socket
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.errors import ConfigError
from gunicorn.workers.gthread import TConn, ThreadWorker

HEAD_TIMEOUT_SECONDS = 10.0
MAX_HEAD_BYTES = 64 * 1024
IO_TIMEOUT_SECONDS = 10.0
LINGER_SECONDS = 2.0  # as gunicorn's util.close_graceful
DRAIN_SECONDS = 0.1
_MAX_LINGER_BYTES = 64 * 1024  # as gunicorn's util.close_graceful
_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@dataclass
class _Head:
    """What has arrived of one connection's request head, and when it must be complete."""

    deadline: float
    data: bytearray = field(default_factory=bytearray)
    registered: bool = False  # in the poller, waiting for bytes

    @property
    def complete(self) -> bool:
        """The head's blank line has arrived (CRLF CRLF; gunicorn's parser refuses bare LFs)."""
        return b"\r\n\r\n" in self.data


@dataclass
class _Linger:
    """A half-closed connection drained until its client closes it or the deadline passes."""

    deadline: float
    drained: int = 0


class _Connection(TConn):  # type: ignore[misc]  # gunicorn has no type information
    """gthread's connection, whose graceful close lingers in the worker's event loop instead of blocking it."""

    def __init__(self, worker: HeadFirstThreadWorker, *args: Any) -> None:
        super().__init__(*args)
        self.worker = worker

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self.worker.linger(self.sock)
        else:
            super().close()


class HeadFirstThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn has no type information
    """``gthread`` whose threads only ever see requests whose head has arrived (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connections whose head is still arriving, and half-closed ones, each with its deadline.
        self._heads: dict[Any, _Head] = {}
        self._lingering: dict[socket.socket, _Linger] = {}
        self._stop_deadline = math.inf  # set once the worker stops

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        """Refuse what this worker cannot serve: TLS, HTTP/2 and uWSGI do not start with an HTTP/1 head."""
        super().check_config(cfg, log)
        if cfg.is_ssl or cfg.http2_cleartext != "off" or getattr(cfg, "protocol", "http") != "http":
            raise ConfigError(f"{cls.__name__} serves plain HTTP/1.x only (no certfile, http2_cleartext, uwsgi)")

    def accept(self, listener: Any) -> None:
        """gthread's accept, with connections whose graceful close does not block the loop."""
        try:
            client, address = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self.enqueue_req(_Connection(self, self.cfg, client, address, listener.getsockname()))

    def enqueue_req(self, conn: Any) -> None:
        """Every way to a thread (new connection, kept-alive or pipelined request) waits here for a complete head."""
        if getattr(conn, "head_complete", False):
            conn.head_complete = False
            super().enqueue_req(conn)
            return
        # A pipelined request may already be partly read: those bytes start its head.
        buffered = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        head = _Head(time.monotonic() + HEAD_TIMEOUT_SECONDS, bytearray(buffered))
        self._heads[conn] = head
        conn.sock.setblocking(False)
        if head.complete:
            self._dispatch(conn)
        else:
            head.registered = True
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_head_bytes, conn))

    def _on_head_bytes(self, conn: Any, _sock: Any) -> None:
        head = self._heads[conn]
        try:
            chunk = conn.sock.recv(MAX_HEAD_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client closed the connection (or it broke)
            self._drop(conn)
            return
        head.data += chunk
        if head.complete:
            self._dispatch(conn)
        elif len(head.data) > MAX_HEAD_BYTES:
            with contextlib.suppress(OSError):
                conn.sock.send(_TOO_LARGE)
            self._drop(conn, graceful=True)

    def _dispatch(self, conn: Any) -> None:
        """Give the head's bytes back to the connection's parser and the connection to a thread."""
        head = self._forget(conn)
        conn.init()  # plain HTTP/1 (check_config): only makes the parser, reads nothing
        conn.data_ready = True  # gthread's handle() must not wait for a first byte again
        conn.parser.unreader.unread(bytes(head.data))
        conn.head_complete = True
        self.enqueue_req(conn)

    def _forget(self, conn: Any) -> _Head:
        head = self._heads.pop(conn)
        if head.registered:
            self.poller.unregister(conn.sock)
        return head

    def _drop(self, conn: Any, graceful: bool = False) -> None:
        """Close a connection whose head never came (stalled, closed by the client, too large)."""
        self._forget(conn)
        self.nr_conns -= 1
        conn.close(graceful)

    def linger(self, sock: socket.socket) -> None:
        """Close ``sock`` gracefully (RFC 9112 section 9.6) from the event loop: FIN now, drain, close later."""
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, self._on_linger_bytes)
        except (OSError, ValueError):
            util.close(sock)
            return
        self._lingering[sock] = _Linger(time.monotonic() + LINGER_SECONDS)

    def _on_linger_bytes(self, sock: socket.socket) -> None:
        linger = self._lingering[sock]
        try:
            chunk = sock.recv(_MAX_LINGER_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        linger.drained += len(chunk)
        if not chunk or linger.drained >= _MAX_LINGER_BYTES:
            self._close_lingering(sock)

    def _close_lingering(self, sock: socket.socket) -> None:
        del self._lingering[sock]
        self.poller.unregister(sock)
        util.close(sock)

    def murder_pending(self) -> None:
        """gthread's sweep (about once a second), which also closes late heads and ends lingering closes.

        A stopping worker gives a head under way ``LINGER_SECONDS`` more at most.
        """
        super().murder_pending()
        now = time.monotonic()
        if not self.alive and self._stop_deadline == math.inf:
            self._stop_deadline = now + LINGER_SECONDS
        for conn in [conn for conn, head in self._heads.items() if min(head.deadline, self._stop_deadline) <= now]:
            self._drop(conn)
        for sock in [sock for sock, linger in self._lingering.items() if linger.deadline <= now]:
            self._close_lingering(sock)

    def handle_request(self, req: Any, conn: Any) -> Any:
        """Serve one request with a deadline on each socket read and write of its body and answer."""
        conn.sock.settimeout(IO_TIMEOUT_SECONDS)
        return super().handle_request(req, conn)

    def _keepalive_after(self, conn: Any, keepalive: bool) -> bool:
        """Keep the connection alive only if what the application left of the body has already arrived."""
        return keepalive and bool(conn.parser.finish_body(deadline=time.monotonic() + DRAIN_SECONDS))
