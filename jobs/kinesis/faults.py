"""Fault injection in the source's own Kinesis client layer (the emulators never throttle).

``faultInjection`` (source option, or the ``KINESIS_FAULT_INJECTION`` environment variable)
is a comma-separated list of ``kind=rate`` pairs plus an optional ``seed``::

    throttle=0.3,server_error=0.1,expire_iterator=0.1,connection_error=0.05,seed=7

Before each wrapped call, each kind fires with its rate and raises what the real service
(or botocore) raises, so the production retry code handles it unchanged:

- ``throttle``: ``ProvisionedThroughputExceededException`` or ``LimitExceededException`` (HTTP 400)
- ``server_error``: ``InternalFailure`` (HTTP 500)
- ``expire_iterator``: ``ExpiredIteratorException`` (GetRecords only)
- ``connection_error``: ``botocore.exceptions.EndpointConnectionError``
- ``access_denied``: ``AccessDeniedException`` (not retryable: fails the query)

Only the executors' clients (GetShardIterator, GetRecords) are wrapped; the driver's
ListShards is not. Faults are never on unless the option or variable is set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from common.env import SettingError

if TYPE_CHECKING:
    from mypy_boto3_kinesis.type_defs import (
        DescribeStreamSummaryOutputTypeDef,
        GetRecordsOutputTypeDef,
        GetShardIteratorOutputTypeDef,
        ListShardsOutputTypeDef,
    )

    from jobs.kinesis.client import KinesisApi

FAULT_KINDS = ("throttle", "server_error", "expire_iterator", "connection_error", "access_denied")


@dataclass(frozen=True)
class FaultSpec:
    """Rates (0..1) of each injected fault, and the seed of their random choices."""

    rates: tuple[tuple[str, float], ...] = ()
    seed: int = 0

    @property
    def enabled(self) -> bool:
        return any(rate > 0 for _, rate in self.rates)

    def rate(self, kind: str) -> float:
        return dict(self.rates).get(kind, 0.0)

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """``"throttle=0.3,seed=7"`` -> FaultSpec; empty or None -> no faults."""
        if not text or not text.strip():
            return cls()
        rates: dict[str, float] = {}
        seed = 0
        for item in text.split(","):
            name, sep, raw = item.strip().partition("=")
            name = name.strip().lower()
            if not sep:
                raise SettingError(f"faultInjection entry {item.strip()!r} must look like kind=rate")
            try:
                value = float(raw)
            except ValueError:
                raise SettingError(f"faultInjection {name} must be a number, got {raw.strip()!r}") from None
            if name == "seed":
                seed = int(value)
            elif name in FAULT_KINDS:
                if not 0.0 <= value <= 1.0:
                    raise SettingError(f"faultInjection {name} must be a rate between 0 and 1, got {value}")
                rates[name] = value
            else:
                raise SettingError(f"faultInjection kind {name!r} is unknown; use {', '.join(FAULT_KINDS)} or seed")
        return cls(tuple(sorted(rates.items())), seed)


def client_error(code: str, message: str, status: int, operation: str, client: KinesisApi | None = None) -> Exception:
    """The ``ClientError`` botocore raises for ``code`` (the client's modeled subclass when it has one)."""
    from botocore.exceptions import ClientError

    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": 0},
    }
    exceptions = getattr(client, "exceptions", None)
    error_class = exceptions.from_code(code) if exceptions is not None else ClientError
    return error_class(response, operation)  # type: ignore[arg-type]  # a real response has this shape


class FaultyKinesisClient:
    """A Kinesis API (``client.KinesisApi``) whose GetRecords / GetShardIterator fail at the spec's rates."""

    def __init__(self, api: KinesisApi, spec: FaultSpec, salt: str = "") -> None:
        self._api = api
        self._spec = spec
        self._rng = random.Random(f"{spec.seed}:{salt}")
        self.injected: dict[str, int] = {}

    def list_shards(self, *args: Any, **kwargs: Any) -> ListShardsOutputTypeDef:
        return self._api.list_shards(*args, **kwargs)

    def describe_stream_summary(self, *args: Any, **kwargs: Any) -> DescribeStreamSummaryOutputTypeDef:
        return self._api.describe_stream_summary(*args, **kwargs)

    def get_shard_iterator(self, *args: Any, **kwargs: Any) -> GetShardIteratorOutputTypeDef:
        self._maybe_fail("GetShardIterator")
        return self._api.get_shard_iterator(*args, **kwargs)

    def get_records(self, *args: Any, **kwargs: Any) -> GetRecordsOutputTypeDef:
        self._maybe_fail("GetRecords")
        return self._api.get_records(*args, **kwargs)

    def _maybe_fail(self, operation: str) -> None:
        for kind, rate in self._spec.rates:
            if kind == "expire_iterator" and operation != "GetRecords":
                continue
            if rate <= 0 or self._rng.random() >= rate:
                continue
            self.injected[kind] = self.injected.get(kind, 0) + 1
            raise self._fault(kind, operation)

    def _fault(self, kind: str, operation: str) -> Exception:
        from botocore.exceptions import EndpointConnectionError

        if kind == "throttle":
            code = self._rng.choice(["ProvisionedThroughputExceededException", "LimitExceededException"])
            return client_error(code, "Rate exceeded for shard (injected)", 400, operation, self._api)
        if kind == "server_error":
            return client_error("InternalFailure", "Internal service failure (injected)", 500, operation, self._api)
        if kind == "expire_iterator":
            return client_error("ExpiredIteratorException", "Iterator expired (injected)", 400, operation, self._api)
        if kind == "access_denied":
            return client_error(
                "AccessDeniedException",
                "not authorized to perform kinesis:" + operation + " (injected)",
                400,
                operation,
                self._api,
            )
        return EndpointConnectionError(endpoint_url="http://kinesis.injected-fault.invalid")
