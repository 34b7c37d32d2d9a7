"""gunicorn settings: one worker (it owns the publishing thread), a few threads, JSON logs.

The bind address comes from ``PUBLISHER_BIND`` through ``publisher.__main__`` and the log level
from ``LOG_LEVEL``, both parsed and checked by ``common.settings`` like every other setting.

gunicorn's own messages use the same one-JSON-object-per-line format as the rest of the
pipeline (``common.logs``); the access log is off (probes would flood it).
"""

from common.settings import EnvReader

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
    "root": {"level": EnvReader().log_level(), "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
    },
}
