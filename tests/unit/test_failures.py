"""Codes for failed Kinesis calls (publisher/failures.py): what answers carry instead of upstream text."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ReadTimeoutError

from publisher.failures import failure_code, failure_detail, safe_code

pytestmark = pytest.mark.unit
URL = "https://kinesis.eu-west-1.amazonaws.com/"


def client_error(code: str) -> ClientError:
    message = "User: arn:aws:sts::111122223333:assumed-role/publisher/x is not authorized"
    return ClientError({"Error": {"Code": code, "Message": message}}, "PutRecords")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (client_error("AccessDeniedException"), "AccessDeniedException"),
        (client_error("Not a code: arn:aws:iam::111122223333:role/x"), "kinesis_error"),
        (EndpointConnectionError(endpoint_url=URL), "kinesis_unreachable"),
        (ReadTimeoutError(endpoint_url=URL), "kinesis_timeout"),
        (NoCredentialsError(), "aws_credentials_unavailable"),
        (ValueError(URL), "kinesis_error"),
    ],
)
def test_a_failure_is_named_by_a_code_that_carries_no_upstream_text(error: Exception, code: str) -> None:
    assert failure_code(error) == code
    assert "111122223333" not in failure_code(error) and "amazonaws" not in failure_code(error)


def test_the_detail_for_the_log_keeps_the_upstream_text() -> None:
    assert "arn:aws:sts::111122223333" in failure_detail(client_error("AccessDeniedException"))
    assert URL in failure_detail(EndpointConnectionError(endpoint_url=URL))


def test_only_plain_identifiers_pass_as_codes() -> None:
    assert safe_code("ProvisionedThroughputExceededException") == "ProvisionedThroughputExceededException"
    assert safe_code("KMSNotFoundException") == "KMSNotFoundException"
    assert safe_code("") == safe_code("Rate exceeded for shard") == safe_code("x" * 65) == "kinesis_error"
