"""Reading settings from the environment once, with errors that name the setting.

Every process of the pipeline reads its configuration at start-up through these helpers,
so a bad value fails fast with ``SettingError`` ("KINESIS_SHARD_COUNT must be an integer
>= 1, got 'two'") instead of surfacing later as an obscure boto3 or Spark error.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

# Regions follow the AWS naming scheme (us-east-1, eu-central-2, us-gov-west-1, cn-north-1).
_REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_DURATION_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
# S3 bucket naming rules (lower case, 3-63 chars, no leading/trailing dot or dash).
_BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_STREAM_PATTERN = re.compile(r"^[a-zA-Z0-9_.-]{1,128}$")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the setting."""


@dataclass(frozen=True)
class AwsSettings:
    """Where the AWS APIs live: real AWS when ``endpoint_url`` is None, else an emulator."""

    region: str
    endpoint_url: str | None


class EnvReader:
    """Typed access to one environment mapping, raising ``SettingError`` on bad values."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = dict(os.environ if environ is None else environ)

    def raw(self, name: str) -> str | None:
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
        if positive and not number > 0:
            raise SettingError(f"{name} must be a number > 0, got {value!r}")
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingError(f"{name} must be true or false, got {value!r}")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.string(name, default).upper()
        if value not in choices:
            raise SettingError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def duration_seconds(self, name: str, default: str) -> float:
        value = self.string(name, default)
        return parse_duration_seconds(name, value)

    def log_level(self) -> str:
        """``LOG_LEVEL``: DEBUG, INFO (default), WARNING or ERROR, any case."""
        level = self.string("LOG_LEVEL", "INFO").upper()
        if level not in LOG_LEVELS:
            raise SettingError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level.lower()!r}")
        return level

    def aws(self) -> AwsSettings:
        region = self.string("AWS_REGION", self.string("AWS_DEFAULT_REGION", "us-east-1"))
        if not _REGION_PATTERN.match(region) or region not in known_regions():
            raise SettingError(f"AWS_REGION must be a known AWS region like us-east-1 or eu-west-1, got {region!r}")
        endpoint = self.optional_string("AWS_ENDPOINT_URL")
        if endpoint is not None:
            parsed = urlparse(endpoint)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise SettingError(
                    f"AWS_ENDPOINT_URL must be an http(s) URL like http://127.0.0.1:4566, got {endpoint!r}"
                )
        return AwsSettings(region=region, endpoint_url=endpoint)

    def stream_name(self) -> str:
        name = self.string("KINESIS_STREAM_NAME", "articles")
        if not _STREAM_PATTERN.match(name):
            raise SettingError(f"KINESIS_STREAM_NAME must be 1-128 of [a-zA-Z0-9_.-], got {name!r}")
        return name

    def bucket_name(self) -> str:
        name = self.string("S3_BUCKET_NAME", "my-bucket")
        if not _BUCKET_PATTERN.match(name):
            raise SettingError(f"S3_BUCKET_NAME must be a valid S3 bucket name (3-63 chars, a-z 0-9 . -), got {name!r}")
        return name


@functools.lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Regions where Kinesis exists, in every partition botocore knows (read offline from botocore's data)."""
    import boto3

    session = boto3.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("kinesis", partition_name=partition)
    )


def parse_duration_seconds(name: str, value: str) -> float:
    """Parse '2 minutes', '5 seconds', '500ms', '1h' into seconds; the error names ``name``."""
    match = _DURATION_PATTERN.match(value)
    if not match:
        raise SettingError(f"{name} must be a duration like '2 minutes' or '5 seconds', got {value!r}")
    amount, unit = float(match.group(1)), match.group(2)
    key = "ms" if unit.startswith("ms") or unit.startswith("milli") else unit[0]
    return amount * _UNIT_SECONDS[key]
