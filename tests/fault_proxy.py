"""An HTTP proxy in front of an emulator that fails or slows requests on demand (S3 or Kinesis).

``FaultProxy(upstream).start()`` listens on 127.0.0.1; point ``AWS_ENDPOINT_URL_S3`` at
``proxy.url``. ``proxy.mode`` is ``"pass"`` (forward), ``"error"`` (answer 500 InternalError or
503 SlowDown, as S3 does under trouble) or ``"slow"`` (forward after ``delay_seconds``).
``applies_to(method, path)`` limits the faults to some requests (e.g. the PUTs of data files, so
that Spark's tasks fail rather than its driver); the others pass. Each request is counted per mode,
so the test can show the faults really happened.

In front of Kinesis (``AWS_ENDPOINT_URL``), ``actions`` limits the faults to some API actions
(e.g. ``{"PutRecords"}``; every Kinesis request is a POST to ``/``, the action is in the
``X-Amz-Target`` header), and the mode ``"partial"`` answers a ``PutRecords`` the way a
throttled Kinesis does: the records ``fail_record(data, partition_key)`` picks get
``ProvisionedThroughputExceededException``, the others are forwarded and stored.

With ``record=True``, ``seen`` keeps every request (headers and body) in arrival order, e.g. to
read what a client signed its requests with, or what it sent to STS.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "upgrade"}
_THROTTLED = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded (fault proxy)"}
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
        actions: Collection[str] = (),
        fail_record: Callable[[bytes, str], bool] = lambda _data, _key: True,
        record: bool = False,
    ) -> None:
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.mode = "pass"
        self.delay_seconds = delay_seconds
        self.applies_to = applies_to
        self.actions = frozenset(actions)
        self.fail_record = fail_record
        self.requests: Counter[str] = Counter()
        self.record = record
        self.seen: list[tuple[dict[str, str], bytes]] = []  # with record: every request's headers and body
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

    def _targets(self, target: str) -> bool:
        """Whether the faults apply to the action named in an ``X-Amz-Target`` header."""
        return not self.actions or target.rpartition(".")[2] in self.actions

    def _split_put_records(self, body: bytes) -> tuple[bytes, list[bool]]:
        """The PutRecords request to forward (without the records to fail) and, per record, whether it fails."""
        request = json.loads(body)
        failing = [self.fail_record(base64.b64decode(r["Data"]), r["PartitionKey"]) for r in request["Records"]]
        request["Records"] = [r for r, fails in zip(request["Records"], failing, strict=True) if not fails]
        return json.dumps(request).encode(), failing

    def _answer_put_records(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        """Store the records ``fail_record`` spares, answer throttling for the others.

        An error of the upstream call (no per-record results) is relayed as it is.
        """
        forward, failing = self._split_put_records(body)
        status, payload, stored = 200, b"", []
        if not all(failing):
            skip = _HOP_BY_HOP | {"content-length"}
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in skip}
            headers["Content-Length"] = str(len(forward))
            upstream = http.client.HTTPConnection(*self.upstream, timeout=120)
            try:
                upstream.request("POST", handler.path, body=forward, headers=headers)
                response = upstream.getresponse()
                status, payload = response.status, response.read()
            finally:
                upstream.close()
            stored = json.loads(payload)["Records"] if status == 200 else []
        if status == 200:
            kept = iter(stored)
            records = [dict(_THROTTLED) if fails else next(kept) for fails in failing]
            payload = json.dumps({"FailedRecordCount": sum(failing), "Records": records}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/x-amz-json-1.1")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, and 100-continue for the SDK's PUTs

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("X-Amz-Target", "")
                applies = proxy.applies_to(self.command, self.path) and proxy._targets(target)
                mode = proxy.mode if applies else "pass"
                with proxy._lock:
                    proxy.requests[mode] += 1
                    if proxy.record:
                        proxy.seen.append((dict(self.headers.items()), body))
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
                if mode == "partial" and target.endswith(".PutRecords"):
                    proxy._answer_put_records(self, body)
                    return
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
