"""The source's Kinesis client: retries with full-jitter backoff within a deadline, errors that say what to do."""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from fake_kinesis import FakeClock, throttled

from jobs.kinesis.client import BASE_BACKOFF_SECONDS, KinesisClient, KinesisSourceError, call_with_retries
from jobs.kinesis.faults import client_error

pytestmark = pytest.mark.unit


def test_backoff_grows_exponentially_with_bounded_full_jitter() -> None:
    clock = FakeClock()

    class Largest(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    def always_throttled() -> None:
        raise throttled()

    with pytest.raises(KinesisSourceError, match=r"retryDeadlineSeconds=30"):
        call_with_retries(
            always_throttled, what="GetRecords s", deadline_seconds=30, sleep=clock.sleep, rng=Largest(), clock=clock
        )
    upper = [min(10.0, BASE_BACKOFF_SECONDS * 2**n) for n in range(1, len(clock.sleeps) + 1)]
    assert clock.sleeps[:6] == pytest.approx(upper[:6]), "the ceiling doubles each attempt"
    assert max(clock.sleeps) <= 10.0, "and is capped"
    assert clock.now == pytest.approx(30.0), "the last sleep is cut at the deadline, never past it"

    jittered = FakeClock()
    with pytest.raises(KinesisSourceError):
        call_with_retries(
            always_throttled,
            what="GetRecords s",
            deadline_seconds=60,
            sleep=jittered.sleep,
            rng=random.Random(3),
            clock=jittered,
        )
    for attempt, slept in enumerate(jittered.sleeps[:-1], start=1):
        assert 0 <= slept <= min(10.0, BASE_BACKOFF_SECONDS * 2**attempt)
    assert len(set(jittered.sleeps)) > len(jittered.sleeps) // 2, "jitter spreads the waits"


@pytest.mark.parametrize(
    "failure",
    [
        throttled("ProvisionedThroughputExceededException"),
        throttled("LimitExceededException"),
        throttled("InternalFailure", 500),
        throttled("SomethingNew", 503),
        EndpointConnectionError(endpoint_url="http://nowhere.invalid"),
    ],
)
def test_transient_failures_are_retried_until_success(failure: Exception) -> None:
    clock = FakeClock()
    outcomes: list[Any] = [failure, failure, "ok"]
    retried: list[Exception] = []

    def call() -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert (
        call_with_retries(call, what="x", deadline_seconds=10, sleep=clock.sleep, clock=clock, on_retry=retried.append)
        == "ok"
    )
    assert len(retried) == 2 and len(clock.sleeps) == 2


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ResourceNotFoundException", "does not exist"),
        ("AccessDeniedException", "lack permission"),
    ],
)
def test_missing_stream_or_permission_fails_at_once_with_what_to_do(code: str, message: str) -> None:
    clock = FakeClock()

    def call() -> None:
        raise throttled(code)

    with pytest.raises(KinesisSourceError, match=message):
        call_with_retries(call, what="GetRecords s", deadline_seconds=10, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []


@pytest.mark.parametrize("code", ["AccessDenied", "InvalidClientTokenId", "RegionDisabledException"])
def test_a_refused_assume_role_fails_at_once_naming_the_role_setting(code: str) -> None:
    """botocore raises STS's error from the Kinesis call whose signing needed the role's credentials."""
    clock = FakeClock()

    def call() -> None:
        raise client_error(code, "not authorized to perform sts:AssumeRole", 403, "AssumeRole")

    with pytest.raises(KinesisSourceError, match=r"KINESIS_ROLE_ARN\) failed: .*sts:AssumeRole on that role"):
        call_with_retries(call, what="ListShards s", deadline_seconds=10, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []


def test_a_throttled_assume_role_is_retried() -> None:
    clock = FakeClock()
    outcomes: list[Any] = [client_error("Throttling", "Rate exceeded", 400, "AssumeRole"), "ok"]

    def call() -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert call_with_retries(call, what="x", deadline_seconds=10, sleep=clock.sleep, clock=clock) == "ok"
    assert len(clock.sleeps) == 1


def test_other_client_errors_are_not_retried() -> None:
    clock = FakeClock()

    def call() -> None:
        raise throttled("ValidationException")

    with pytest.raises(ClientError, match="ValidationException"):
        call_with_retries(call, what="x", deadline_seconds=10, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == []


def test_list_shards_follows_every_page_and_retries_a_throttled_one() -> None:
    class PagedShards:
        def __init__(self) -> None:
            self.requests: list[dict[str, Any]] = []
            self.failures = [throttled("LimitExceededException")]

        def list_shards(self, **kwargs: Any) -> dict[str, Any]:
            self.requests.append(kwargs)
            if kwargs.get("NextToken") == "page-2" and self.failures:
                raise self.failures.pop()
            if "NextToken" not in kwargs:
                return {"Shards": [{"ShardId": "shardId-0"}], "NextToken": "page-2"}
            return {"Shards": [{"ShardId": "shardId-1", "ParentShardId": "shardId-0"}]}

    api = PagedShards()
    clock = FakeClock()
    client = KinesisClient(api, "articles", 10.0, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    shards = client.list_shards()
    assert [(s.shard_id, s.parent) for s in shards] == [("shardId-0", None), ("shardId-1", "shardId-0")]
    assert api.requests == [{"StreamName": "articles"}, {"NextToken": "page-2"}, {"NextToken": "page-2"}]
    assert client.retries == 1
