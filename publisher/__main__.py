"""``python -m publisher`` / ``article-publisher``: validate settings, then serve with gunicorn.

One worker process (the publishing thread lives in it) with a few threads for the probes.
gunicorn's graceful SIGTERM lets the worker exit normally, which flushes the buffer within
``PUBLISHER_GRACEFUL_TIMEOUT``.
"""

from __future__ import annotations

import sys

from gunicorn.app.wsgiapp import run

from common.env import SettingError
from publisher.settings import PublisherSettings


def main() -> int:
    try:
        settings = PublisherSettings.from_env()
    except SettingError as error:
        print(f"article-publisher: invalid setting: {error}", file=sys.stderr)
        return 2
    sys.argv = [
        "gunicorn",
        "--config",
        "python:publisher.gunicorn_conf",
        "--bind",
        settings.bind,
        "publisher.bootstrap:build()",
    ]
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
