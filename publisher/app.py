"""The Flask app factory, as in Flask's tutorial: it only wires (``publisher.bootstrap`` does the I/O)."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from publisher.http_metrics import count_responses
from publisher.routes import MAX_REQUEST_BYTES, AppState, api, json_error


def create_app(state: AppState) -> Flask:
    """The app serving ``state`` (its publishing loop, stream probe and metrics) through the API blueprint.

    Every answer is counted in ``state.metrics.http_responses`` (``publisher.http_metrics``).
    """
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.extensions["publisher"] = state
    count_responses(app, state.metrics.http_responses)
    app.register_blueprint(api)
    app.register_error_handler(HTTPException, json_error)
    return app
