"""The publisher's configuration, read from the environment once at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common.env import Duration, SettingError
from common.settings import AwsSettings, PipelineEnv
from publisher.api_token import TOKEN_FILE_SETTING, checked_token, read_token_file

_DEFAULT_GRACEFUL_TIMEOUT = "20 seconds"


def api_token(env: PipelineEnv) -> tuple[str | None, Path | None]:
    """The bearer token ``POST /articles`` requires, and the file it comes from (None: set directly).

    ``PUBLISHER_API_TOKEN`` gives it, or ``PUBLISHER_API_TOKEN_FILE`` names a file holding it (not
    both); neither disables the endpoint. Either way it must be hard to guess (16+ characters).
    """
    token = env.optional_string("PUBLISHER_API_TOKEN")
    path = env.optional_string(TOKEN_FILE_SETTING)
    if token is not None and path is not None:
        raise SettingError(f"set PUBLISHER_API_TOKEN or {TOKEN_FILE_SETTING}, not both")
    if path is not None:
        return read_token_file(Path(path)), Path(path)
    return (None if token is None else checked_token(token, "PUBLISHER_API_TOKEN")), None


def read_graceful_timeout(env: PipelineEnv) -> Duration:
    """``PUBLISHER_GRACEFUL_TIMEOUT``: how long a SIGTERM leaves to flush the buffered articles.

    gunicorn (``publisher.gunicorn_conf``) kills its worker after this long; the worker's flush
    stops a second before. The chart derives the pod's termination grace period from the same value.
    """
    timeout = env.duration("PUBLISHER_GRACEFUL_TIMEOUT", _DEFAULT_GRACEFUL_TIMEOUT, minimum=Duration(2000))
    if timeout.milliseconds % 1000:
        raise SettingError(f"PUBLISHER_GRACEFUL_TIMEOUT must be whole seconds (gunicorn's unit), got {timeout}")
    return timeout


@dataclass(frozen=True)
class PublisherSettings:
    aws: AwsSettings
    stream_name: str
    bucket_name: str
    shard_count: int
    rate: float  # articles per second
    count: int  # total articles to publish, 0 = unlimited
    seed: int | None
    authors: int
    bind: str
    startup_timeout: Duration
    log_level: str
    graceful_timeout: Duration  # SIGTERM to exit: the time the buffer has to be flushed
    max_event_time_lead: Duration  # POST /articles refuses published_at further ahead of now (event_time_ahead)
    api_token: str | None = None  # bearer token POST /articles requires (at start); None disables the endpoint
    api_token_file: Path | None = None  # the file the token is read from, again whenever it changes; None: fixed

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PublisherSettings:
        return cls.read(PipelineEnv(environ))

    @classmethod
    def read(cls, env: PipelineEnv) -> PublisherSettings:
        seed = env.optional_string("PUBLISHER_SEED")
        if seed is not None and not (seed.removeprefix("-").isascii() and seed.removeprefix("-").isdigit()):
            raise SettingError(f"PUBLISHER_SEED must be an integer, got {seed!r}")
        token, token_file = api_token(env)
        return cls(
            aws=env.aws("publisher"),
            stream_name=env.stream_name(),
            bucket_name=env.bucket_name(),
            shard_count=env.integer("KINESIS_SHARD_COUNT", 2, minimum=1),
            rate=env.number("PUBLISH_RATE", 5.0),
            count=env.integer("PUBLISH_COUNT", 0, minimum=0),
            seed=int(seed) if seed is not None else None,
            authors=env.integer("PUBLISHER_AUTHORS", 8, minimum=1),
            bind=env.bind("PUBLISHER_BIND", "127.0.0.1:8000"),
            startup_timeout=env.duration("PUBLISHER_STARTUP_TIMEOUT", "30 seconds", minimum=Duration(1000)),
            log_level=env.log_level(),
            graceful_timeout=read_graceful_timeout(env),
            api_token=token,
            api_token_file=token_file,
            max_event_time_lead=env.max_event_time_lead(),
        )
