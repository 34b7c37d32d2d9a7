"""Reading one shard for one batch on an executor: GetRecords or SubscribeToShard, with limits and replay.

``ShardReader.read`` reads from a start position until a limit (records, bytes, fetch time, shard
end, caught up with the tip) and returns the records and where it stopped. With a
``ShardSubscriber`` (enhanced fan-out) a first attempt takes the records from subscription events;
otherwise, and always when replaying, it polls GetRecords. Given the end a previous attempt
recorded, it stops exactly there, so a replayed batch returns the same records. KPL aggregated
records are split into their user records, each keeping the sub-sequence number that makes a
position inside an aggregate exact.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from common.aws import RETRYABLE_CODES, error_code
from common.logs import log_event
from jobs.kinesis.client import SUBSCRIBE_RETRY_CODES, KinesisClient, KinesisSourceError, backoff_seconds
from jobs.kinesis.fan_out import ShardSubscriber
from jobs.kinesis.positions import Position, ShardEnd, is_consumed, position_after, sequence_key

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_kinesis.type_defs import GetRecordsOutputTypeDef, RecordTypeDef

logger = logging.getLogger("jobs.kinesis")

_KPL_MAGIC = b"\xf3\x89\x9a\xc2"
# Kinesis allows 5 GetRecords calls per second per shard.
_MIN_SECONDS_BETWEEN_CALLS = 0.2


def read_through_ms(records: list[KinesisRecord], millis_behind: int | None) -> int | None:
    """Epoch ms before which every record of the shard has been read (``ShardEnd.read_through_ms``)."""
    if millis_behind == 0:
        return int(time.time() * 1000)
    if records:
        return int(records[-1].arrival_time.timestamp() * 1000)
    return None


class KinesisRecord(NamedTuple):
    data: bytes
    partition_key: str
    sequence_number: str
    sub_sequence_number: int | None
    arrival_time: datetime

    @property
    def size(self) -> int:
        """Bytes of the record as Kinesis counts them against its quotas: data plus partition key."""
        return len(self.data) + len(self.partition_key.encode())


@dataclass(frozen=True)
class ReadLimits:
    """When a read stops: ``max_records`` read, ``max_bytes`` reached, or ``max_fetch_seconds`` spent
    (whichever comes first).

    ``max_bytes`` is a soft limit, as Delta's and Kafka's byte limits are: the record that reaches
    it is read, so a read makes progress whatever the size of a record (at most 1 MiB on Kinesis).
    """

    max_records: int
    max_fetch_seconds: float
    max_bytes: int | None = None


def deaggregate(data: bytes, partition_key: str) -> list[tuple[str, bytes]] | None:
    """User records (partition key, data) of a KPL aggregated record, or None if ``data`` is not one."""
    if not data.startswith(_KPL_MAGIC) or len(data) <= len(_KPL_MAGIC) + 16:
        return None
    message, digest = data[len(_KPL_MAGIC) : -16], data[-16:]
    if hashlib.md5(message).digest() != digest:
        return None
    # aws_kinesis_agg's generated messages_pb2 imports ``config_pb2`` as a top-level module; its
    # deaggregator module puts the package directory on sys.path first, so import through it.
    from aws_kinesis_agg.deaggregator import messages_pb2

    aggregated = messages_pb2.AggregatedRecord()
    try:
        aggregated.ParseFromString(message)
    except Exception:
        return None
    keys = list(aggregated.partition_key_table)
    return [(keys[r.partition_key_index] if keys else partition_key, r.data) for r in aggregated.records]


@dataclass
class Budget:
    """What one read may still take: records up to ``max_records``, bytes until ``max_bytes`` is reached."""

    max_records: int
    max_bytes: int | None
    read_bytes: int = 0

    def spent(self, records: list[KinesisRecord]) -> bool:
        return len(records) >= self.max_records or (self.max_bytes is not None and self.read_bytes >= self.max_bytes)


class ShardReader:
    """Reads one shard through a ``KinesisClient``: up to limits, or exactly up to a recorded end.

    With ``subscriber`` a first attempt reads through enhanced fan-out (``SubscribeToShard``).
    ``renewals`` counts the expired iterators renewed and the subscriptions reopened over the
    reader's life; it goes into the position log with the client's ``retries``,
    ``get_records_calls`` and ``subscribe_calls``.
    """

    def __init__(
        self, client: KinesisClient, shard_id: str, limits: ReadLimits, subscriber: ShardSubscriber | None = None
    ) -> None:
        self.client = client
        self.shard_id = shard_id
        self.limits = limits
        self.subscriber = subscriber
        self.renewals = 0

    def _get_records(self, iterator: str, limit: int, resume_from: Position) -> tuple[GetRecordsOutputTypeDef, str]:
        """One GetRecords call; an expired iterator is renewed from ``resume_from`` (within the deadline)."""
        from botocore.exceptions import ClientError

        deadline_seconds = self.client.retry_deadline_seconds
        started = self.client.clock()
        while True:
            try:
                return self.client.get_records(self.shard_id, iterator, limit), iterator
            except ClientError as error:
                if error_code(error) != "ExpiredIteratorException":
                    raise
                if self.client.clock() - started >= deadline_seconds:
                    raise KinesisSourceError(
                        f"GetRecords {self.shard_id}: the shard iterator kept expiring for "
                        f"{deadline_seconds:g} s (retryDeadlineSeconds)"
                    ) from error
                self.renewals += 1
                log_event(
                    logger, "kinesis_iterator_expired", logging.WARNING, shard=self.shard_id, resume_from=resume_from
                )
                iterator = self.client.shard_iterator(self.shard_id, resume_from)

    def read(self, start: Position, replay_to: ShardEnd | None) -> tuple[list[KinesisRecord], ShardEnd]:
        """Records after ``start``: up to the limits, or exactly up to ``replay_to`` when given."""
        if replay_to is not None and replay_to.records == 0:
            return [], replay_to
        if replay_to is None and self.subscriber is not None:
            return self._read_subscribed(self.subscriber, start)
        records: list[KinesisRecord] = []
        # Where reading stands: every record at or before it has been returned (or precedes start).
        # Records at or before it are skipped, which also makes a renewed iterator (re-opened at an
        # aggregate whose first sub-records were already read) exact.
        position = start
        iterator = self.client.shard_iterator(self.shard_id, position)
        clock = self.client.clock
        deadline = clock() + self.limits.max_fetch_seconds
        target = replay_to.position if replay_to is not None else None
        wanted = replay_to.records if replay_to is not None else self.limits.max_records
        # A replay stops at the recorded end whatever its size.
        budget = Budget(wanted, self.limits.max_bytes if replay_to is None else None)
        millis_behind: int | None = None
        closed = False
        last_call = float("-inf")
        passed_target = False
        while not budget.spent(records) and not passed_target:
            pause = _MIN_SECONDS_BETWEEN_CALLS - (clock() - last_call)
            if pause > 0:
                self.client.sleep(pause)
            last_call = clock()
            ask = min(10_000, wanted - len(records))
            response, iterator = self._get_records(iterator, ask, position)
            millis_behind = response.get("MillisBehindLatest")
            position, stopped_inside = self._take(response["Records"], position, records, budget, target)
            passed_target = stopped_inside and target is not None
            next_iterator = response.get("NextShardIterator")
            if next_iterator is None:
                # The shard is closed and this was its last response: finished only if all of it was read.
                closed = not stopped_inside
                break
            iterator = next_iterator
            if target is not None and millis_behind == 0 and not response["Records"]:
                break  # at the tip without reaching the recorded end: reported below
            if target is None:
                caught_up = millis_behind == 0 and len(response["Records"]) < ask
                if caught_up or clock() >= deadline:
                    break
        if replay_to is not None:
            self._check_replay(records, replay_to)
            return records, replay_to
        return records, self._end(records, position, budget, closed, millis_behind)

    def _end(
        self, records: list[KinesisRecord], position: Position, budget: Budget, closed: bool, millis_behind: int | None
    ) -> ShardEnd:
        return ShardEnd(
            position=position,
            records=len(records),
            bytes=budget.read_bytes,
            closed=closed,
            millis_behind_latest=millis_behind,
            retries=self.client.retries,
            renewals=self.renewals,
            get_records_calls=self.client.get_records_calls,
            subscribe_calls=self.client.subscribe_calls,
            read_through_ms=read_through_ms(records, millis_behind),
        )

    def _read_subscribed(self, subscriber: ShardSubscriber, start: Position) -> tuple[list[KinesisRecord], ShardEnd]:
        """A first attempt through enhanced fan-out: subscription events from ``start`` until a limit.

        Stops after the event that reaches the record or byte budget, shows the shard caught up
        (``MillisBehindLatest`` 0), or arrives past ``max_fetch_seconds``; and at the shard's end
        (``ChildShards`` with no ``ContinuationSequenceNumber``). A subscription that ends (Kinesis
        closes each after 5 minutes) or fails with a retryable error is reopened from where
        reading stands, after a full-jitter backoff when it failed (growing while no record is read);
        past its fetch time the read stops with the records it has.
        """
        from botocore.exceptions import ClientError, HTTPClientError

        records: list[KinesisRecord] = []
        position = start
        budget = Budget(self.limits.max_records, self.limits.max_bytes)
        clock = self.client.clock
        deadline = clock() + self.limits.max_fetch_seconds
        millis_behind: int | None = None
        closed = False
        done = False
        failures = 0  # since a record was last read
        while not done:
            subscription = self.client.subscribe(subscriber, self.shard_id, position)
            try:
                for event in subscription:
                    millis_behind = event.get("MillisBehindLatest")
                    read_before = len(records)
                    position, stopped_inside = self._take(event["Records"], position, records, budget, None)
                    if len(records) > read_before:
                        failures = 0
                    if event.get("ChildShards") and not event.get("ContinuationSequenceNumber"):
                        closed, done = not stopped_inside, True
                        break
                    if stopped_inside or budget.spent(records) or millis_behind == 0 or clock() >= deadline:
                        done = True
                        break
            except (ClientError, HTTPClientError) as error:
                code = error_code(error)
                if isinstance(error, ClientError) and code not in RETRYABLE_CODES | SUBSCRIBE_RETRY_CODES:
                    raise
                failures += 1
                self._reopened("kinesis_subscription_failed", position, error=code or type(error).__name__)
                done = clock() >= deadline
                if not done:
                    self.client.sleep(backoff_seconds(failures, self.client.rng))
                continue
            finally:
                subscription.close()
            if not done:
                self._reopened("kinesis_subscription_ended", position)
        return records, self._end(records, position, budget, closed, millis_behind)

    def _reopened(self, event: str, position: Position, **fields: object) -> None:
        self.renewals += 1
        log_event(logger, event, logging.WARNING, shard=self.shard_id, resume_from=position, **fields)

    def _take(
        self,
        raw_records: Sequence[RecordTypeDef],
        position: Position,
        records: list[KinesisRecord],
        budget: Budget,
        target: Position | None,
    ) -> tuple[Position, bool]:
        """Append the unread user records of ``raw_records`` (a GetRecords response's or a subscription
        event's) to ``records``, within ``budget`` and not past ``target``.

        Returns the new position and whether any of ``raw_records`` were left unread.
        """
        for raw in raw_records:
            for record in self._user_records(raw):
                if is_consumed(position, record.sequence_number, record.sub_sequence_number):
                    continue
                if budget.spent(records) or (
                    target is not None
                    and sequence_key(record.sequence_number, record.sub_sequence_number)
                    > sequence_key(target["seq"], target.get("sub"))
                ):
                    return position, True
                records.append(record)
                budget.read_bytes += record.size
                position = position_after(record.sequence_number, record.sub_sequence_number)
        return position, False

    def _check_replay(self, records: list[KinesisRecord], replay_to: ShardEnd) -> None:
        if len(records) != replay_to.records:
            raise KinesisSourceError(
                f"replaying shard {self.shard_id} found {len(records)} records up to {replay_to.position}, the position log "
                f"says {replay_to.records}: the records expired from the stream (retention) or the log belongs to "
                "another stream. Start from a new CHECKPOINT_LOCATION."
            )

    def _user_records(self, raw: RecordTypeDef) -> list[KinesisRecord]:
        data: bytes = raw["Data"]
        arrival: datetime = raw["ApproximateArrivalTimestamp"]
        sequence: str = raw["SequenceNumber"]
        users = deaggregate(data, raw["PartitionKey"])
        if users is None:
            return [KinesisRecord(data, raw["PartitionKey"], sequence, None, arrival)]
        return [KinesisRecord(user_data, key, sequence, index, arrival) for index, (key, user_data) in enumerate(users)]
