"""The bearer token ``POST /articles`` requires: set directly, or held in a file that may change.

``PUBLISHER_API_TOKEN`` gives the token itself; ``PUBLISHER_API_TOKEN_FILE`` names a file holding
it (a mounted Kubernetes Secret, say), surrounding whitespace stripped. Kubernetes updates a
mounted Secret in place, so ``TokenFile`` looks at the file on every request (one ``stat``) and
reads it again when it changed: a new token takes effect with the next request, no restart. A
file that turns missing, unreadable or too short is logged (``api_token_file_invalid``) and,
until it holds a valid token again, every request is refused with 503 (the old token no longer
opens the endpoint).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from common.env import SettingError
from common.logs import log_event

MIN_TOKEN_CHARS = 16
_MAX_FILE_BYTES = 4096
TOKEN_FILE_SETTING = "PUBLISHER_API_TOKEN_FILE"

logger = logging.getLogger("publisher.api_token")


def checked_token(token: str, origin: str) -> str:
    """``token`` if it is long enough to be hard to guess; else a ``SettingError`` naming ``origin``."""
    if len(token) < MIN_TOKEN_CHARS:
        raise SettingError(
            f"{origin} must be at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 16`), got {len(token)}"
        )
    return token


def read_token_file(path: Path) -> str:
    """The token in ``path``, whitespace stripped; a ``SettingError`` naming the setting and the path otherwise."""
    where = f"{TOKEN_FILE_SETTING} {str(path)!r}"
    try:
        with open(path, "rb") as file:
            content = file.read(_MAX_FILE_BYTES + 1)
        text = content.decode("utf-8")
    except (OSError, ValueError) as error:  # ValueError: not UTF-8, or a NUL in the path
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise SettingError(f"{where} cannot be read: {reason}") from None
    if len(content) > _MAX_FILE_BYTES:
        raise SettingError(f"{where} is over {_MAX_FILE_BYTES} bytes: not a token file")
    return checked_token(text.strip(), f"the token in {where}")


class ApiToken(Protocol):
    """Where the routes get the token to compare with."""

    def current(self) -> str | None:
        """The token now; None while there is no valid one (every request is refused)."""


@dataclass(frozen=True)
class FixedToken:
    """``PUBLISHER_API_TOKEN``: the same token for the life of the process."""

    token: str

    def current(self) -> str:
        return self.token


_Stamp = tuple[int, int, int, int]
# Linux stamps a file's mtime with a coarse clock (a few ms a tick): a write in the tick of the
# previous one can leave the stamp unchanged, so a file changed this recently is read every time.
_RECENT_NS = 2_000_000_000


def _stamp(path: Path) -> _Stamp | None:
    """What changes when the file does: device and inode (Kubernetes swaps a symlink), size, mtime."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


class TokenFile:
    """``PUBLISHER_API_TOKEN_FILE``: the token in a file, read again whenever the file changes.

    Each request costs one ``stat``; the file is read again when its stamp changed, or while it
    changed less than 2 s ago. A file without a valid token is logged once per problem.
    """

    def __init__(self, path: Path) -> None:
        """Read ``path`` now: a ``SettingError`` if it holds no valid token (start-up fails)."""
        self.path = path
        self._lock = threading.Lock()
        self._stamp = _stamp(path)
        self._recent = self._is_recent(self._stamp)
        self._token: str | None = read_token_file(path)
        self._problem: str | None = None

    def current(self) -> str | None:
        stamp = _stamp(self.path)
        if stamp != self._stamp or self._recent:
            with self._lock:
                self._token = self._reread()
                self._stamp, self._recent = stamp, self._is_recent(stamp)
        return self._token

    @staticmethod
    def _is_recent(stamp: _Stamp | None) -> bool:
        return stamp is not None and time.time_ns() - stamp[3] < _RECENT_NS

    def _reread(self) -> str | None:
        try:
            token = read_token_file(self.path)
        except SettingError as error:
            if str(error) != self._problem:
                log_event(logger, "api_token_file_invalid", logging.ERROR, error=str(error))
            self._problem = str(error)
            return None
        if token != self._token:
            log_event(logger, "api_token_reloaded", path=str(self.path))
        self._problem = None
        return token
