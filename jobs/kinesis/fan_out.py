"""Enhanced fan-out: ``SubscribeToShard`` over HTTP, its AWS event stream parsed by botocore, framework-free.

``ShardSubscriber.subscribe`` opens one subscription of a registered consumer to one shard and
returns it as an iterator of ``SubscribeToShardEvent`` payloads (records as GetRecords returns them:
``Data`` bytes, ``ApproximateArrivalTimestamp`` datetimes). The request is signed with SigV4 and
sent with urllib3; the response's frames go through botocore's ``EventStream`` (its
``EventStreamBuffer``), which does not demand the ``initial-response`` event that boto3's
``subscribe_to_shard`` insists on: AWS sends that event first, kinesis-local (kinesis-mock) does not,
and an ``initial-response`` event is skipped here either way. Errors come out as botocore's
``ClientError`` (HTTP errors and exception events alike) and ``HTTPClientError`` (connection
failures and timeouts), which ``client.call_with_retries`` classifies.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from common.settings import AwsSettings
from jobs.kinesis.positions import Position, iterator_request

if TYPE_CHECKING:
    from mypy_boto3_kinesis.type_defs import SubscribeToShardEventTypeDef

_TARGET = "Kinesis_20131202.SubscribeToShard"


def starting_position(position: Position) -> dict[str, Any]:
    """``SubscribeToShard``'s ``StartingPosition`` for ``position`` (the same start as ``iterator_request``)."""
    request = iterator_request(position)
    start: dict[str, Any] = {"Type": request["ShardIteratorType"]}
    if "StartingSequenceNumber" in request:
        start["SequenceNumber"] = request["StartingSequenceNumber"]
    if "Timestamp" in request:
        start["Timestamp"] = request["Timestamp"]
    return start


def http_error(status: int, body: bytes) -> Exception:
    """The ``ClientError`` of a refused ``SubscribeToShard`` (AWS JSON error body: ``__type``, ``message``)."""
    from botocore.exceptions import ClientError

    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        parsed = {}
    code = str(parsed.get("__type", "")).rpartition("#")[2] or f"HTTP{status}"
    message = str(parsed.get("message") or parsed.get("Message") or body[:200].decode(errors="replace"))
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},  # type: ignore[typeddict-item]
        "SubscribeToShard",
    )


def parse_events(raw_stream: Any) -> Iterator[SubscribeToShardEventTypeDef]:
    """The ``SubscribeToShardEvent`` payloads of an event stream (anything with urllib3's ``stream()``).

    An ``initial-response`` event, present or not, yields nothing; an exception event raises
    botocore's ``EventStreamError`` (a ``ClientError`` carrying the exception's code).
    """
    from botocore.eventstream import EventStream
    from botocore.parsers import EventStreamJSONParser

    event: dict[str, Any]
    for event in EventStream(raw_stream, _event_stream_shape(), EventStreamJSONParser(), "SubscribeToShard"):
        if "SubscribeToShardEvent" in event:
            yield event["SubscribeToShardEvent"]


@functools.lru_cache(maxsize=1)
def _event_stream_shape() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("kinesis")
    output: Any = model.operation_model("SubscribeToShard").output_shape
    return output.members["EventStream"]


class Subscription:
    """One open ``SubscribeToShard`` call: iterate it for events, ``close`` it when done (drops the connection)."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self._events = parse_events(response)
        self._first: list[SubscribeToShardEventTypeDef] = []

    def peek(self) -> None:
        """Wait for the first event (Kinesis reports a refused subscription as an exception event)."""
        try:
            self._first = [self._next()]
        except StopIteration:  # ended at once: iterating yields nothing
            self._first = []

    def __iter__(self) -> Iterator[SubscribeToShardEventTypeDef]:
        while self._first:
            yield self._first.pop()
        while True:
            try:
                yield self._next()
            except StopIteration:
                return

    def _next(self) -> SubscribeToShardEventTypeDef:
        from botocore.exceptions import HTTPClientError
        from urllib3.exceptions import HTTPError

        try:
            return next(self._events)
        except HTTPError as error:  # a read timeout or a cut connection mid-stream
            raise HTTPClientError(error=error) from error

    def close(self) -> None:
        # Never back to the pool: the server may still be writing events on this connection.
        self._response.close()


class ShardSubscriber:
    """Opens subscriptions of the consumer ``consumer_arn`` to the stream's shards.

    ``read_timeout_seconds`` bounds the wait for the next event (AWS and kinesis-local send at
    least one every few seconds); a longer silence surfaces as ``HTTPClientError``.
    """

    def __init__(self, aws: AwsSettings, consumer_arn: str, read_timeout_seconds: float = 15.0) -> None:
        self.aws = aws
        self.consumer_arn = consumer_arn
        self.read_timeout_seconds = read_timeout_seconds

    def subscribe(self, shard_id: str, position: Position) -> Subscription:
        """Open a subscription to ``shard_id`` whose first record follows ``position``.

        Returns
        -------
        Subscription
            Iterates the events as they arrive, until Kinesis ends the subscription (after 5 minutes).
        Raises ``ClientError`` when Kinesis refuses the call (``ResourceInUseException`` within
        5 s of another subscription to the shard, ``LimitExceededException``, a missing consumer)
        and ``HTTPClientError`` when the endpoint cannot be reached.
        """
        import urllib3
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.exceptions import HTTPClientError

        from common.aws import kinesis_credentials
        from jobs.kinesis.client import boto3_kinesis

        body = json.dumps(
            {"ConsumerARN": self.consumer_arn, "ShardId": shard_id, "StartingPosition": starting_position(position)}
        )
        request = AWSRequest(
            method="POST",
            url=boto3_kinesis(self.aws).meta.endpoint_url,  # botocore's resolution: endpointUrl, else the region's
            data=body,
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": _TARGET},
        )
        SigV4Auth(kinesis_credentials(self.aws), "kinesis", self.aws.region).add_auth(request)
        prepared = request.prepare()
        try:
            response = _pool().urlopen(
                "POST",
                prepared.url,
                body=prepared.body,
                headers=dict(prepared.headers.items()),
                preload_content=False,
                retries=False,
                timeout=urllib3.Timeout(connect=5.0, read=self.read_timeout_seconds),
            )
        except urllib3.exceptions.HTTPError as error:
            raise HTTPClientError(error=error) from error
        if response.status != 200:
            try:
                raise http_error(response.status, response.read())
            finally:
                response.close()
        return Subscription(response)


@functools.lru_cache(maxsize=1)
def _pool() -> Any:
    """One urllib3 pool per process (TLS set-up shared by the subscriptions of its tasks)."""
    import urllib3

    return urllib3.PoolManager(maxsize=16)
