"""The Flask app factory, as in Flask's tutorial: it only wires (``publisher.bootstrap`` does the I/O)."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from publisher.routes import Publisher, api, json_error


def create_app(publisher: Publisher) -> Flask:
    """The app serving ``publisher`` (its service, stream probe and metrics) through the API blueprint."""
    app = Flask(__name__)
    app.extensions["publisher"] = publisher
    app.register_blueprint(api)
    app.register_error_handler(HTTPException, json_error)
    return app
