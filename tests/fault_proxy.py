"""An HTTP proxy in front of an S3 emulator that fails or slows requests on demand (the chaos test's S3).

``FaultProxy(upstream).start()`` listens on 127.0.0.1; point ``AWS_ENDPOINT_URL_S3`` at
``proxy.url``. ``proxy.mode`` is ``"pass"`` (forward), ``"error"`` (answer 500 InternalError or
503 SlowDown, as S3 does under trouble) or ``"slow"`` (forward after ``delay_seconds``).
``applies_to(method, path)`` limits the faults to some requests (e.g. the PUTs of data files, so
that Spark's tasks fail rather than its driver); the others pass. Each request is counted per mode,
so the test can show the faults really happened.
"""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "upgrade"}
_ERRORS = (
    (500, "InternalError", "We encountered an internal error. Please try again."),
    (503, "SlowDown", "Please reduce your request rate."),
)


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        delay_seconds: float = 2.0,
        seed: int = 7,
        applies_to: Callable[[str, str], bool] = lambda _method, _path: True,
    ) -> None:
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.mode = "pass"
        self.delay_seconds = delay_seconds
        self.applies_to = applies_to
        self.requests: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, and 100-continue for the SDK's PUTs

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                mode = proxy.mode if proxy.applies_to(self.command, self.path) else "pass"
                with proxy._lock:
                    proxy.requests[mode] += 1
                    status, code, message = proxy._rng.choice(_ERRORS)
                if mode == "error":
                    payload = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                    return
                if mode == "slow":
                    time.sleep(proxy.delay_seconds)
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                finally:
                    upstream.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_BY_HOP | {"content-length"}:
                        self.send_header(key, value)
                content_length = response.getheader("Content-Length")
                self.send_header(
                    "Content-Length", content_length if self.command == "HEAD" and content_length else str(len(data))
                )
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

        return Handler
