"""The publisher's HTTP answers counted: ``publisher_http_responses_total{method, route, code}``.

``count_responses`` (wired by ``create_app``) counts every answer the Flask app gives, once, when
it is final: the routes' own, the JSON errors of ``json_error`` (404, 405, 413...) and the 500 of an
unhandled exception (Flask's ``handle_exception`` finalises that answer through the same
``after_request`` hooks). Probes (``/health``, ``/health/live``) and scrapes (``/metrics``) count
too: a few a minute. The labels stay bounded whatever clients send: ``route`` is the matched URL
rule (``/articles``), never the raw path, and ``unmatched`` when no rule matched (404, 405);
``method`` is one of the standard HTTP methods, else ``other``; ``code`` is the status code.

Answers gunicorn gives without the app are not counted: its worker's 431 for an oversized request
head and its own 400 for a request it cannot parse (``publisher.http_worker``).
"""

from __future__ import annotations

from flask import Flask, Request, Response, request
from prometheus_client import Counter

UNMATCHED = "unmatched"
OTHER_METHOD = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})


def route_of(req: Request) -> str:
    """The URL rule the request matched, or ``UNMATCHED``."""
    return req.url_rule.rule if req.url_rule is not None else UNMATCHED


def method_of(req: Request) -> str:
    return req.method if req.method in METHODS else OTHER_METHOD


def count_responses(app: Flask, responses: Counter) -> None:
    """Count each of ``app``'s answers in ``responses`` (labels ``method``, ``route``, ``code``).

    Registered before any other ``after_request`` hook, so it runs last (Flask runs them in reverse)
    and sees the status code that is sent.
    """

    def count(response: Response) -> Response:
        responses.labels(method_of(request), route_of(request), str(response.status_code)).inc()
        return response

    app.after_request(count)
