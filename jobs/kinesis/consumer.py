"""The stream consumer enhanced fan-out reads through: registered once by name, reused, deregistered on request.

``ensure_consumer`` returns the ARN of the consumer ``KINESIS_CONSUMER_NAME`` of the stream,
registering it when it does not exist and waiting until it is ACTIVE; a restart finds it and
reuses it. ``deregister_consumer`` removes it (``helm uninstall``'s hook, ``make efo-deregister``):
a registered consumer costs money on AWS whether read or not.

Run as ``python -m jobs.kinesis.consumer deregister`` it deregisters the consumer that the
environment's settings name (``KINESIS_STREAM_NAME``, ``KINESIS_CONSUMER_NAME``, AWS settings).
"""

from __future__ import annotations

import argparse
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from common.aws import error_code
from common.env import SettingError
from common.logs import log_event
from jobs.kinesis.client import KinesisSourceError, call_with_retries

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient as Boto3Kinesis
    from mypy_boto3_kinesis.type_defs import ConsumerDescriptionTypeDef

logger = logging.getLogger("jobs.kinesis")

_CONSUMER_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_POLL_SECONDS = 0.5


def consumer_name(setting: str, value: str | None) -> str | None:
    """``value`` as a consumer name (None when empty); a name Kinesis would refuse fails naming ``setting``."""
    name = (value or "").strip() or None
    if name is not None and not _CONSUMER_NAME.fullmatch(name):
        raise SettingError(f"{setting} must be 1-128 letters, digits, '_', '.' or '-', got {name!r}")
    return name


def describe_consumer(
    api: Boto3Kinesis, stream_arn: str, consumer_name: str, deadline_seconds: float
) -> ConsumerDescriptionTypeDef | None:
    """The consumer ``consumer_name`` of the stream ``stream_arn``, or None when it is not registered."""
    from botocore.exceptions import ClientError

    def request() -> ConsumerDescriptionTypeDef | None:
        try:
            return api.describe_stream_consumer(StreamARN=stream_arn, ConsumerName=consumer_name)["ConsumerDescription"]
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise

    return call_with_retries(request, what=f"DescribeStreamConsumer {consumer_name}", deadline_seconds=deadline_seconds)


def stream_arn(api: Boto3Kinesis, stream_name: str, deadline_seconds: float) -> str:
    summary = call_with_retries(
        lambda: api.describe_stream_summary(StreamName=stream_name),
        what=f"DescribeStreamSummary {stream_name}",
        deadline_seconds=deadline_seconds,
    )
    return str(summary["StreamDescriptionSummary"]["StreamARN"])


def ensure_consumer(
    api: Boto3Kinesis,
    stream_name: str,
    consumer_name: str,
    deadline_seconds: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """The ARN of the ACTIVE consumer ``consumer_name`` of ``stream_name``, registered if it is not.

    A consumer being deleted is waited out and registered again; one being created is waited for.
    Past ``deadline_seconds`` ``KinesisSourceError`` says which state the consumer was stuck in.
    """
    from botocore.exceptions import ClientError

    arn = stream_arn(api, stream_name, deadline_seconds)
    started = clock()
    registered = False
    while True:
        consumer = describe_consumer(api, arn, consumer_name, deadline_seconds)
        status = consumer["ConsumerStatus"] if consumer is not None else "absent"
        if consumer is not None and status == "ACTIVE":
            log_event(
                logger,
                "kinesis_consumer_ready",
                stream=stream_name,
                consumer=consumer_name,
                arn=consumer["ConsumerARN"],
                registered=registered,
            )
            return str(consumer["ConsumerARN"])
        if consumer is None:
            try:
                call_with_retries(
                    lambda: api.register_stream_consumer(StreamARN=arn, ConsumerName=consumer_name),
                    what=f"RegisterStreamConsumer {consumer_name}",
                    deadline_seconds=deadline_seconds,
                )
                registered = True
            except ClientError as error:
                if error_code(error) != "ResourceInUseException":  # registered meanwhile by another driver
                    raise
        if clock() - started >= deadline_seconds:
            raise KinesisSourceError(
                f"the stream consumer {consumer_name!r} of {stream_name} stayed {status} for {deadline_seconds:g} s "
                "(retryDeadlineSeconds): check it with `aws kinesis describe-stream-consumer`, or choose another "
                "KINESIS_CONSUMER_NAME"
            )
        sleep(_POLL_SECONDS)


def deregister_consumer(api: Boto3Kinesis, stream_name: str, consumer_name: str, deadline_seconds: float) -> bool:
    """Deregister the consumer ``consumer_name`` of ``stream_name``; False when it was not registered."""
    from botocore.exceptions import ClientError

    arn = stream_arn(api, stream_name, deadline_seconds)
    try:
        call_with_retries(
            lambda: api.deregister_stream_consumer(StreamARN=arn, ConsumerName=consumer_name),
            what=f"DeregisterStreamConsumer {consumer_name}",
            deadline_seconds=deadline_seconds,
        )
    except KinesisSourceError as error:
        if isinstance(error.__cause__, ClientError) and error_code(error.__cause__) == "ResourceNotFoundException":
            return False
        raise
    return True


def main(argv: list[str] | None = None) -> int:
    """``deregister``: remove the consumer the environment names; exit 0 whether or not it existed."""
    from common.aws import client
    from common.logs import configure_logging
    from jobs.settings import JobSettings

    parser = argparse.ArgumentParser(prog="python -m jobs.kinesis.consumer", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["deregister"])
    parser.parse_args(argv)
    settings = JobSettings.from_env()
    configure_logging(settings.log_level)
    if settings.consumer_name is None:
        log_event(logger, "kinesis_consumer_not_set", detail="KINESIS_CONSUMER_NAME is empty: nothing to deregister")
        return 0
    api: Any = client("kinesis", settings.aws)
    removed = deregister_consumer(api, settings.stream_name, settings.consumer_name, settings.retry_deadline.seconds)
    log_event(
        logger,
        "kinesis_consumer_deregistered" if removed else "kinesis_consumer_absent",
        stream=settings.stream_name,
        consumer=settings.consumer_name,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
