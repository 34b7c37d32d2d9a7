"""Typed reading of an environment mapping, with errors that name the setting.

``EnvReader`` turns strings into integers, numbers, durations, byte sizes, URLs and ``host:port`` values, and
raises ``SettingError`` naming the variable and the form it wants ("KINESIS_SHARD_COUNT must be an
integer >= 1, got 'two'"); it knows nothing of the pipeline (``common.settings`` does).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlparse

_BIND_PATTERN = re.compile(r"^(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")

# Durations: Spark's interval forms ("500 milliseconds", "1 minute 30 seconds") and the usual
# abbreviations, in whole milliseconds. No bare numbers (seconds? milliseconds?) and no "m"
# (minutes or months?); months and years have no fixed length.
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_DURATION_WHOLE = re.compile(r"^(?:interval\s+)?(?:\d+(?:\.\d+)?\s*[a-z]+\s*)+$")
_UNIT_MS = {
    **dict.fromkeys(("ms", "msec", "msecs", "millisecond", "milliseconds"), 1),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1_000),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60_000),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3_600_000),
    **dict.fromkeys(("d", "day", "days"), 86_400_000),
}
_MAX_DURATION_MS = 365 * 86_400_000
_DURATION_FORMS = "a duration like '500 milliseconds', '5 seconds', '2 minutes' or '1 hour' (units ms, s, min, h, d)"


# Byte sizes: Spark's byte strings ("512k", "64m", "1g"; binary multiples) and the IEC names.
_BYTE_SIZE = re.compile(r"^(\d+)\s*([a-z]*)$")
_UNIT_BYTES = {
    **dict.fromkeys(("", "b"), 1),
    **dict.fromkeys(("k", "kb", "kib"), 1 << 10),
    **dict.fromkeys(("m", "mb", "mib"), 1 << 20),
    **dict.fromkeys(("g", "gb", "gib"), 1 << 30),
}
_BYTE_SIZE_FORMS = "a size in bytes like '1048576', '512k', '64m' or '1g' (binary multiples)"


class SettingError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the setting."""


@dataclass(frozen=True, order=True)
class Duration:
    """A length of time in whole milliseconds, parsed from Spark's interval forms."""

    milliseconds: int

    @property
    def seconds(self) -> float:
        return self.milliseconds / 1000

    @property
    def as_timedelta(self) -> timedelta:
        return timedelta(milliseconds=self.milliseconds)

    @property
    def spark(self) -> str:
        """The form Spark's triggers and watermarks take, exact to the millisecond."""
        return f"{self.milliseconds} milliseconds"

    def __str__(self) -> str:
        for unit, size in (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000), ("second", 1_000)):
            if self.milliseconds >= size and self.milliseconds % size == 0:
                count = self.milliseconds // size
                return f"{count} {unit}{'s' if count != 1 else ''}"
        return f"{self.milliseconds} milliseconds"


def parse_duration(name: str, value: str) -> Duration:
    """Parse ``value`` ('2 minutes', '500ms', '1 minute 30 seconds') for the setting ``name``."""
    text = value.strip().lower()
    if re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
        raise SettingError(f"{name} must be {_DURATION_FORMS}, got {value!r}: a bare number is ambiguous, add a unit")
    if not _DURATION_WHOLE.match(text):
        raise SettingError(f"{name} must be {_DURATION_FORMS}, got {value!r}")
    total = Decimal(0)
    for amount, unit in _DURATION_PART.findall(text.removeprefix("interval")):
        if unit in ("m", "month", "months", "y", "year", "years", "mo", "mon", "mons"):
            raise SettingError(
                f"{name} must be {_DURATION_FORMS}, got {value!r}: {unit!r} is ambiguous or of no fixed length "
                "(write 'min' for minutes)"
            )
        if unit not in _UNIT_MS:
            raise SettingError(f"{name} must be {_DURATION_FORMS}, got {value!r}: unknown unit {unit!r}")
        total += Decimal(amount) * _UNIT_MS[unit]
    if total != total.to_integral_value():
        raise SettingError(f"{name} must be a whole number of milliseconds, got {value!r}")
    if total > _MAX_DURATION_MS:
        raise SettingError(f"{name} must be at most 365 days, got {value!r}")
    return Duration(int(total))


def parse_byte_size(name: str, value: str) -> int:
    """Parse ``value`` ('1048576', '64m', '64MiB', '1g') for the setting ``name``: bytes, at least 1."""
    match = _BYTE_SIZE.match(value.strip().lower())
    if not match or match.group(2) not in _UNIT_BYTES:
        raise SettingError(f"{name} must be {_BYTE_SIZE_FORMS}, got {value!r}")
    size = int(match.group(1)) * _UNIT_BYTES[match.group(2)]
    if size < 1:
        raise SettingError(f"{name} must be at least 1 byte, got {value!r}")
    return size


class EnvReader:
    """Typed access to one environment mapping, raising ``SettingError`` on bad values."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self.names: list[str] = []  # every setting read, in order: what `make run` validates

    def raw(self, name: str) -> str | None:
        if name not in self.names:
            self.names.append(name)
        value = self._environ.get(name)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def string(self, name: str, default: str) -> str:
        value = self.raw(name)
        return default if value is None else value

    def optional_string(self, name: str) -> str | None:
        return self.raw(name)

    def integer(self, name: str, default: int, minimum: int | None = None) -> int:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingError(f"{name} must be an integer, got {value!r}") from None
        if minimum is not None and number < minimum:
            raise SettingError(f"{name} must be an integer >= {minimum}, got {value!r}")
        return number

    def number(self, name: str, default: float, positive: bool = True) -> float:
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingError(f"{name} must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise SettingError(f"{name} must be a finite number, got {value!r}")
        if positive and not number > 0:
            raise SettingError(f"{name} must be a number > 0, got {value!r}")
        return number

    def byte_size(self, name: str) -> int | None:
        """A size in bytes (``parse_byte_size``); None when unset."""
        value = self.raw(name)
        return None if value is None else parse_byte_size(name, value)

    def duration(self, name: str, default: str, minimum: Duration = Duration(0)) -> Duration:
        duration = parse_duration(name, self.string(name, default))
        if duration < minimum:
            raise SettingError(f"{name} must be at least {minimum}, got {self.string(name, default)!r}")
        return duration

    def bind(self, name: str, default: str) -> str:
        """A ``host:port`` to listen on (the port 1-65535)."""
        value = self.string(name, default)
        match = _BIND_PATTERN.match(value)
        if not match or not 1 <= int(match.group("port")) <= 65535:
            raise SettingError(f"{name} must be host:port like 127.0.0.1:8000 (port 1-65535), got {value!r}")
        return value

    def endpoint_url(self, name: str) -> str | None:
        endpoint = self.optional_string(name)
        if endpoint is not None:
            try:
                parsed = urlparse(endpoint)
                valid = parsed.scheme in ("http", "https") and bool(parsed.hostname) and parsed.port != 0
            except ValueError:  # a port that is not a number
                valid = False
            if not valid:
                raise SettingError(f"{name} must be an http(s) URL like http://127.0.0.1:4566, got {endpoint!r}")
        return endpoint
