"""gunicorn settings: one worker (it owns the publishing thread), a few threads, JSON logs.

The bind address comes from ``PUBLISHER_BIND`` through ``publisher.__main__`` (the container
image passes ``--bind``), the log level from ``LOG_LEVEL`` and the graceful timeout from
``PUBLISHER_GRACEFUL_TIMEOUT``, all parsed and checked like every other setting. The graceful
timeout is set here only: on SIGTERM gunicorn gives the worker that long to exit, and the
worker spends it flushing the buffered articles (``publisher.bootstrap``).

gunicorn's own messages use the same one-JSON-object-per-line format as the rest of the
pipeline (``common.logs``); the access log is off (probes would flood it).
"""

from common.settings import PipelineEnv
from publisher.settings import read_graceful_timeout

workers = 1
threads = 4
# gthread, except that a thread takes a connection only once its request head is in (publisher/http_worker.py).
worker_class = "publisher.http_worker.HeadFirstThreadWorker"
graceful_timeout = read_graceful_timeout(PipelineEnv()).milliseconds // 1000
accesslog = None
# No control socket: it would be written under $HOME, read-only in the container image.
control_socket_disable = True
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "common.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": PipelineEnv().log_level(), "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
    },
}
