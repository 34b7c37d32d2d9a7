"""gunicorn settings: one worker (it owns the publishing thread), a few threads, JSON logs.

gunicorn's own messages use the same one-JSON-object-per-line format as the rest of the
pipeline (``common.logs``); the access log is off (probes would flood it).
"""

import os

workers = 1
threads = 4
graceful_timeout = 10
accesslog = None
# No control socket: it would be written under $HOME, read-only in the container image.
control_socket_disable = True
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "common.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": os.environ.get("LOG_LEVEL", "INFO").upper(), "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
    },
}
