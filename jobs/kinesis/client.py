"""Every Kinesis call the source makes, framework-free: typed, retried within a deadline, counted.

``KinesisClient`` wraps a boto3 Kinesis client (or anything with its four methods, such as
``faults.FaultyKinesisClient``) for one stream. Throttling, 5xx and connection errors are retried
with full-jitter backoff until ``retry_deadline_seconds``; a missing stream or permission fails at
once with ``KinesisSourceError`` saying what to do. Nothing here knows Spark.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from common.aws import RETRYABLE_CODES, error_code, full_jitter_backoff
from common.logs import log_event
from common.settings import AwsSettings
from jobs.kinesis.positions import Position, ShardInfo, iterator_request

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient as Boto3Kinesis
    from mypy_boto3_kinesis.type_defs import (
        DescribeStreamSummaryOutputTypeDef,
        GetRecordsOutputTypeDef,
        GetShardIteratorOutputTypeDef,
        ListShardsOutputTypeDef,
    )

    from jobs.kinesis.fan_out import ShardSubscriber, Subscription

logger = logging.getLogger("jobs.kinesis")

BASE_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 10.0
Result = TypeVar("Result")
# A subscription to a shard within 5 s of its previous one is refused with this code: wait and retry.
SUBSCRIBE_RETRY_CODES = frozenset({"ResourceInUseException"})
# What an endpoint answers for a call it does not implement (kinesis-local before 0.6: SubscribeToShard).
NOT_IMPLEMENTED_CODES = frozenset({"ApiNotImplemented", "UnknownOperationException", "NotImplemented"})
_NO_FAN_OUT = (
    "Enhanced fan-out needs an endpoint with SubscribeToShard (AWS, LocalStack, kinesis-local 0.6 and later; not "
    "moto nor kinesis-local 0.5): unset KINESIS_CONSUMER_NAME (consumerName) to poll with GetRecords."
)


class KinesisSourceError(RuntimeError):
    """A failure retrying cannot fix (stream deleted, permission missing); says what to do."""


class KinesisApi(Protocol):
    """The four calls of a boto3 Kinesis client the source uses (boto3's own client has them)."""

    def list_shards(self, *args: Any, **kwargs: Any) -> ListShardsOutputTypeDef: ...

    def describe_stream_summary(self, *args: Any, **kwargs: Any) -> DescribeStreamSummaryOutputTypeDef: ...

    def get_shard_iterator(self, *args: Any, **kwargs: Any) -> GetShardIteratorOutputTypeDef: ...

    def get_records(self, *args: Any, **kwargs: Any) -> GetRecordsOutputTypeDef: ...


@functools.lru_cache(maxsize=8)
def boto3_kinesis(aws: AwsSettings) -> Boto3Kinesis:
    """A boto3 Kinesis client whose retries are left to ``call_with_retries``.

    Cached per Python worker (boto3 clients are thread-safe; Spark reuses workers): building
    one per task cost ~0.2 s of every batch in ``make bench``. Timeouts are short (a GetRecords
    answer takes well under a second) so a frozen endpoint shows as logged retries, not a silent hang.
    """
    from common.aws import client

    return client("kinesis", aws, retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=10)


def backoff_seconds(attempt: int, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(10 s, 0.1 s * 2**attempt)]."""
    return full_jitter_backoff(attempt, rng, BASE_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS)


def call_with_retries(
    call: Callable[[], Result],
    *,
    what: str,
    deadline_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_retry: Callable[[Exception], None] | None = None,
    also_retry: frozenset[str] = frozenset(),
) -> Result:
    """Run ``call``, retrying throttling, 5xx and connection errors with full-jitter backoff.

    Parameters
    ----------
    call : the request, without arguments (``functools.partial`` or a lambda)
    what : how the request is named in logs and errors, e.g. ``"GetRecords shardId-0"``
    deadline_seconds : give up once this much time has passed since the first attempt
    on_retry : called with each failure that is retried (counting)
    also_retry : error codes retried for this call beyond throttling and 5xx (``ResourceInUseException``
        of a SubscribeToShard within 5 s of the shard's previous subscription)

    Returns
    -------
    What ``call`` returned. Past the deadline, ``KinesisSourceError`` names the deadline (the last
    error chained). A missing stream or permission, or a refused AssumeRole of the Kinesis role,
    raises ``KinesisSourceError`` at once with a message saying what to do; other client errors
    (``ExpiredIteratorException`` among them) are re-raised unchanged for the caller.
    """
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    rng = rng or random.Random()
    started = clock()
    attempt = 0
    while True:
        try:
            return call()
        except ClientError as error:
            code = error_code(error)
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code == "ResourceNotFoundException":
                raise KinesisSourceError(
                    f"{what}: {error}. The stream or shard does not exist: check KINESIS_STREAM_NAME and "
                    "AWS_REGION, or recreate the stream (a new stream needs a new CHECKPOINT_LOCATION)."
                ) from error
            if error.operation_name == "AssumeRole" and code not in RETRYABLE_CODES and status < 500:
                raise KinesisSourceError(
                    f"{what}: {error}. Assuming the Kinesis role (roleArn, KINESIS_ROLE_ARN) failed: the job's own "
                    "credentials need sts:AssumeRole on that role, and the role's trust policy must allow them "
                    "(with the external id, roleExternalId, if it requires one)."
                ) from error
            if code in NOT_IMPLEMENTED_CODES:
                raise KinesisSourceError(
                    f"{what}: {error}. The endpoint does not implement {error.operation_name}. "
                    + (_NO_FAN_OUT if error.operation_name == "SubscribeToShard" else "")
                ) from error
            if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException"):
                raise KinesisSourceError(
                    f"{what}: {error}. The job's credentials lack permission: grant kinesis:ListShards, "
                    "kinesis:GetShardIterator, kinesis:GetRecords and kinesis:DescribeStreamSummary (with "
                    "KINESIS_CONSUMER_NAME also kinesis:RegisterStreamConsumer, kinesis:DescribeStreamConsumer "
                    "and kinesis:SubscribeToShard)."
                ) from error
            if code not in RETRYABLE_CODES and code not in also_retry and status < 500:
                raise
            failure: Exception = error
        except (BotoConnectionError, HTTPClientError) as error:
            failure = error
        attempt += 1
        elapsed = clock() - started
        if elapsed >= deadline_seconds:
            raise KinesisSourceError(
                f"{what}: still failing after {attempt} attempts over {elapsed:.1f} s, the retry deadline "
                f"(retryDeadlineSeconds={deadline_seconds:g}): {type(failure).__name__}: {failure}. Kinesis is "
                "throttling or unavailable for longer than the deadline: raise retryDeadlineSeconds, read fewer "
                "records per batch, or check the endpoint and the stream's capacity."
                + (f" {_NO_FAN_OUT}" if getattr(failure, "operation_name", None) == "SubscribeToShard" else "")
            ) from failure
        backoff = min(deadline_seconds - elapsed, backoff_seconds(attempt, rng))
        log_event(
            logger,
            "kinesis_retry",
            logging.WARNING,
            call=what,
            attempt=attempt,
            error=error_code(failure) or type(failure).__name__,
            detail=str(failure)[:200],
            backoff_s=round(backoff, 3),
        )
        if on_retry is not None:
            on_retry(failure)
        sleep(backoff)


@dataclass(frozen=True)
class StreamSummary:
    """What the source needs to know of the stream itself."""

    created: float  # epoch seconds: what tells a recreated stream from the original
    retention_ms: int  # records older than this are trimmed by Kinesis


class KinesisClient:
    """The source's calls to one Kinesis stream, each retried within ``retry_deadline_seconds``.

    ``retries`` counts the calls retried (throttling, 5xx, connection errors),
    ``get_records_calls`` every GetRecords request (throttled ones too: Kinesis counts them
    against its 5 calls per second per shard) and ``subscribe_calls`` every SubscribeToShard
    request, over the client's life.
    """

    def __init__(
        self,
        api: KinesisApi,
        stream_name: str,
        retry_deadline_seconds: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.api = api
        self.stream_name = stream_name
        self.retry_deadline_seconds = retry_deadline_seconds
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()
        self.retries = 0
        self.get_records_calls = 0
        self.subscribe_calls = 0

    def _count_retry(self, _error: Exception) -> None:
        self.retries += 1

    def _call(self, call: Callable[[], Result], what: str, also_retry: frozenset[str] = frozenset()) -> Result:
        return call_with_retries(
            call,
            what=what,
            deadline_seconds=self.retry_deadline_seconds,
            sleep=self.sleep,
            rng=self.rng,
            clock=self.clock,
            on_retry=self._count_retry,
            also_retry=also_retry,
        )

    def list_shards(self) -> list[ShardInfo]:
        """Every shard Kinesis lists for the stream (open, and closed ones within retention).

        Returns
        -------
        ``ShardInfo`` (id and parents) per shard, in Kinesis' order, across all pages.
        """
        shards: list[ShardInfo] = []
        token: str | None = None
        while True:
            request = (
                functools.partial(self.api.list_shards, NextToken=token)
                if token
                else functools.partial(self.api.list_shards, StreamName=self.stream_name)
            )
            response = self._call(request, f"ListShards {self.stream_name}")
            shards.extend(
                ShardInfo(
                    s["ShardId"],
                    s.get("ParentShardId"),
                    s.get("AdjacentParentShardId"),
                    closed="EndingSequenceNumber" in s.get("SequenceNumberRange", {}),
                )
                for s in response["Shards"]
            )
            token = response.get("NextToken")
            if not token:
                return shards

    def stream_summary(self) -> StreamSummary:
        """The stream's creation time and retention (``DescribeStreamSummary``)."""
        response = self._call(
            lambda: self.api.describe_stream_summary(StreamName=self.stream_name),
            f"DescribeStreamSummary {self.stream_name}",
        )
        summary = response["StreamDescriptionSummary"]
        return StreamSummary(
            created=float(summary["StreamCreationTimestamp"].timestamp()),
            retention_ms=int(summary["RetentionPeriodHours"]) * 3_600_000,
        )

    def shard_iterator(self, shard_id: str, position: Position) -> str:
        """A shard iterator reading ``shard_id`` from ``position`` (``positions.iterator_request``)."""
        request = iterator_request(position)
        response = self._call(
            lambda: self.api.get_shard_iterator(StreamName=self.stream_name, ShardId=shard_id, **request),
            f"GetShardIterator {shard_id}",
        )
        return str(response["ShardIterator"])

    def get_records(self, shard_id: str, iterator: str, limit: int) -> GetRecordsOutputTypeDef:
        """One GetRecords answer of at most ``limit`` records; ``ExpiredIteratorException`` is raised as is."""

        def request() -> GetRecordsOutputTypeDef:
            self.get_records_calls += 1
            return self.api.get_records(ShardIterator=iterator, Limit=limit)

        return self._call(request, f"GetRecords {shard_id}")

    def subscribe(self, subscriber: ShardSubscriber, shard_id: str, position: Position) -> Subscription:
        """A subscription to ``shard_id`` from ``position`` whose first event has arrived (``Subscription.peek``).

        Retried like every call, and on ``ResourceInUseException`` too: Kinesis refuses a subscription
        within 5 s of the previous one to the same shard and consumer (kinesis-local: until it notices
        the previous connection closed).
        """

        def request() -> Subscription:
            self.subscribe_calls += 1
            subscription = subscriber.subscribe(shard_id, position)
            try:
                subscription.peek()
            except BaseException:
                subscription.close()
                raise
            return subscription

        return self._call(request, f"SubscribeToShard {shard_id} ({subscriber.consumer_arn})", SUBSCRIBE_RETRY_CODES)
