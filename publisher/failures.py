"""Codes for failed Kinesis calls: what the publisher's answers carry instead of upstream text.

botocore's messages name the endpoint URL and, on AWS, account ids, stream and role ARNs.
``/health`` is open to anyone who reaches the port and ``POST /articles`` serves any holder of
the token, so their answers carry a code only; the message goes to the log (docs/publisher-api.md).

A code is the AWS error code (``ResourceNotFoundException``, ``AccessDeniedException``,
``ProvisionedThroughputExceededException``, ...) or one of the publisher's own, for failures
without one: ``kinesis_unreachable`` (no connection to the endpoint), ``kinesis_timeout`` (no
answer in time), ``aws_credentials_unavailable`` (no credentials found), ``kinesis_error``
(anything else, an upstream code that is not a plain identifier, or an answer without one result
per record), ``publisher_error`` (the publishing loop itself failed; it logs the traceback and
goes on).
"""

from __future__ import annotations

import re

from botocore.exceptions import (
    ConnectionClosedError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from common.aws import error_code

KINESIS_UNREACHABLE = "kinesis_unreachable"
KINESIS_TIMEOUT = "kinesis_timeout"
CREDENTIALS_UNAVAILABLE = "aws_credentials_unavailable"
KINESIS_ERROR = "kinesis_error"
PUBLISHER_ERROR = "publisher_error"
# AWS error codes are identifiers; anything else an endpoint sends as a code is not passed on.
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")


def safe_code(code: str) -> str:
    """``code`` if it is a plain identifier (as AWS error codes are), else ``kinesis_error``."""
    return code if _IDENTIFIER.fullmatch(code) else KINESIS_ERROR


def failure_code(error: BaseException) -> str:
    """The code of a failed call: its AWS error code, else the publisher's code for the kind of failure."""
    code = error_code(error)
    if code:
        return safe_code(code)
    if isinstance(error, ReadTimeoutError):
        return KINESIS_TIMEOUT
    if isinstance(error, (BotocoreConnectionError, ConnectionClosedError)):
        return KINESIS_UNREACHABLE
    if isinstance(error, (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError)):
        return CREDENTIALS_UNAVAILABLE
    return KINESIS_ERROR


def failure_detail(error: BaseException) -> str:
    """The full text of a failure, for the log only (it may name endpoints, accounts and ARNs)."""
    return f"{type(error).__name__}: {error}"[:500]
