"""Shard positions, the source offset, and planning of the next micro-batch. Pure logic.

An offset (what Spark checkpoints) is a ``SourceOffset``: the run (a uuid per checkpoint), the
batch number, the per-shard record and byte limits, the position new shards start from, the finished
shard ids and each shard's start position for the batch; it becomes JSON only at Spark's API
(``to_json`` / ``from_json``).

A position is a JSON object (``Position``): ``{"type": "TRIM_HORIZON"}``, ``{"type": "AT_TIMESTAMP", "ts": 1.7e9}``,
``{"type": "AT_SEQUENCE_NUMBER", "seq": "..."}`` or
``{"type": "AFTER_SEQUENCE_NUMBER", "seq": "...", "sub": k}``; ``sub`` is set when the batch
ended inside a KPL aggregated record after its sub-record ``k``. Sequence numbers are decimal
strings compared as integers (moto's are short counters, AWS's are 56 digits).

Batch n reads each shard from the offset's start position; the executor records where it
stopped in the position log; ``plan_next_offset`` turns batch n's log entries into batch n+1's
start positions, dropping finished (closed and fully read) shards and adding shards whose
parents are all finished, so records of one partition key stay in order across resharding.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Required, TypedDict


class Position(TypedDict, total=False):
    """Where reading a shard starts (or stopped): the shard-iterator type and its argument."""

    type: Required[str]  # TRIM_HORIZON, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER
    seq: str  # a sequence number (decimal string), for the *_SEQUENCE_NUMBER types
    sub: int  # after this sub-record of an aggregated record (AFTER_SEQUENCE_NUMBER only)
    ts: float  # epoch seconds, for AT_TIMESTAMP


TRIM_HORIZON: Position = {"type": "TRIM_HORIZON"}
SEQUENCE_TYPES = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")


class PositionLogMismatch(RuntimeError):
    """The shard-position log lacks an entry the checkpoint needs."""


@dataclass(frozen=True)
class ShardInfo:
    """What ``ListShards`` tells about one shard."""

    shard_id: str
    parent: str | None = None
    adjacent_parent: str | None = None
    closed: bool = False  # has an ending sequence number: split or merged away, its remainder is finite

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(p for p in (self.parent, self.adjacent_parent) if p)


@dataclass(frozen=True)
class ShardEnd:
    """Where a batch stopped reading one shard (one entry of the position log)."""

    position: Position  # every record at or before it has been read
    records: int
    closed: bool
    millis_behind_latest: int | None = None
    bytes: int = 0  # data and partition-key bytes of the records read (what Kinesis' quotas count)
    retries: int = 0  # calls retried (throttling, 5xx, connection errors) while reading
    renewals: int = 0  # expired shard iterators renewed, or subscriptions reopened, while reading
    get_records_calls: int = 0  # GetRecords calls the batch made on this shard (Kinesis allows 5/s/shard)
    subscribe_calls: int = 0  # SubscribeToShard calls (enhanced fan-out) the batch made on this shard
    # Every record that arrived before this time (epoch ms) has been read: the last record's arrival,
    # or the end of the read when it reached the tip; None when neither is known.
    read_through_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "end": self.position,  # where the batch stopped reading the shard
            "records": self.records,
            "bytes": self.bytes,
            "closed": self.closed,
            "millis_behind_latest": self.millis_behind_latest,
            "retries": self.retries,
            "renewals": self.renewals,
            "get_records_calls": self.get_records_calls,
            "subscribe_calls": self.subscribe_calls,
            "read_through_ms": self.read_through_ms,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShardEnd:
        return cls(
            position=data["end"],
            records=int(data["records"]),
            closed=bool(data["closed"]),
            millis_behind_latest=data.get("millis_behind_latest"),
            bytes=int(data.get("bytes", 0)),
            retries=int(data.get("retries", 0)),
            renewals=int(data.get("renewals", 0)),
            get_records_calls=int(data.get("get_records_calls", 0)),
            subscribe_calls=int(data.get("subscribe_calls", 0)),
            read_through_ms=data.get("read_through_ms"),
        )


def sequence_key(sequence: str, sub: int | None = None) -> tuple[int, int]:
    """Order of a (sequence number, sub-sequence) pair; whole records sort after their sub-records."""
    return int(sequence), (sub if sub is not None else 2**62)


def position_after(sequence: str, sub: int | None = None) -> Position:
    """The position just after the record ``sequence`` (or after its sub-record ``sub``)."""
    position: Position = {"type": "AFTER_SEQUENCE_NUMBER", "seq": sequence}
    if sub is not None:
        position["sub"] = sub
    return position


def iterator_request(position: Position) -> dict[str, Any]:
    """GetShardIterator arguments that start at ``position`` (sub-records are skipped by the reader)."""
    kind = position["type"]
    if kind == "AFTER_SEQUENCE_NUMBER" and position.get("sub") is not None:
        # The batch stopped inside an aggregated record: re-open that record, skip what was read.
        return {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": position["seq"]}
    if kind in SEQUENCE_TYPES:
        return {"ShardIteratorType": kind, "StartingSequenceNumber": position["seq"]}
    if kind == "AT_TIMESTAMP":
        return {"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": float(position["ts"])}
    if kind in ("TRIM_HORIZON", "LATEST"):
        return {"ShardIteratorType": kind}
    raise ValueError(f"unknown shard position type {kind!r}")


def is_consumed(position: Position, sequence: str, sub: int | None) -> bool:
    """True when the record (sequence, sub) lies at or before ``position`` (already read)."""
    kind = position["type"]
    if kind == "AFTER_SEQUENCE_NUMBER":
        return sequence_key(sequence, sub) <= sequence_key(position["seq"], position.get("sub"))
    if kind == "AT_SEQUENCE_NUMBER":
        return int(sequence) < int(position["seq"])
    return False


@dataclass(frozen=True)
class SourceOffset:
    """The source's offset for one batch, as Spark checkpoints it (JSON at the API boundary only)."""

    run: str  # one per checkpoint: names the position log's entries
    batch: int
    limit: int  # records per shard for this batch
    initial: Position  # where shards that appear later start
    shards: dict[str, Position] = field(default_factory=dict)  # start position of each shard in this batch
    done: tuple[str, ...] = ()  # closed shards read to their end
    stream_created: float | None = None  # the stream's creation time: tells a recreated stream apart
    byte_limit: int | None = None  # bytes per shard for this batch (maxBytesPerTrigger spread over shards)

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "batch": self.batch,
            "limit": self.limit,
            "initial": self.initial,
            "done": list(self.done),
            "shards": self.shards,
            "stream_created": self.stream_created,
            "byte_limit": self.byte_limit,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SourceOffset:
        return cls(
            run=str(data["run"]),
            batch=int(data["batch"]),
            limit=int(data["limit"]),
            initial=data["initial"],
            shards=dict(data["shards"]),
            done=tuple(data.get("done", ())),
            stream_created=data.get("stream_created"),
            byte_limit=data.get("byte_limit"),
        )

    @classmethod
    def parse(cls, data: str | Mapping[str, Any] | None) -> SourceOffset | None:
        """The offset in Spark's progress or offset log (JSON text or object); None when another source's."""

        document = json.loads(data) if isinstance(data, str) else data
        return cls.from_json(document) if isinstance(document, Mapping) and "run" in document else None


def new_offset(initial: Position, limit: int, stream_created: float | None = None) -> SourceOffset:
    """The offset a new checkpoint starts from: no shard planned yet, a fresh run id.

    ``stream_created`` (the stream's creation time, epoch seconds) identifies the stream the
    checkpoint belongs to: a stream deleted and recreated under the same name is another one.
    """
    return SourceOffset(run=uuid.uuid4().hex, batch=0, limit=limit, initial=initial, stream_created=stream_created)


def plan_next_offset(
    start: SourceOffset,
    ends: Mapping[str, ShardEnd],
    listed: Iterable[ShardInfo],
    limit: int,
    byte_limit: int | None = None,
) -> SourceOffset:
    """Batch n+1's offset from batch n's offset ``start``, its log entries and the listed shards.

    Raises ``PositionLogMismatch`` when a shard of ``start`` has no entry in ``ends``.
    """
    missing = sorted(set(start.shards) - set(ends))
    if missing:
        raise PositionLogMismatch(
            f"the shard-position log has no end for batch {start.batch} of shard(s) {', '.join(missing)}"
        )
    listed = list(listed)
    listed_ids = {shard.shard_id for shard in listed}
    done = set(start.done)
    shards: dict[str, Position] = {}
    for shard_id, entry in ends.items():
        if shard_id not in start.shards:
            continue
        if entry.closed:
            done.add(shard_id)
        else:
            shards[shard_id] = entry.position
    for shard in listed:
        if shard.shard_id in shards or shard.shard_id in done:
            continue
        parents_pending = [p for p in shard.parents if p in listed_ids and p not in done]
        if not parents_pending:
            shards[shard.shard_id] = start.initial
    return SourceOffset(
        run=start.run,
        batch=start.batch + 1,
        limit=limit,
        byte_limit=byte_limit,
        initial=start.initial,
        stream_created=start.stream_created,
        # Finished shards are remembered only while Kinesis still lists them (retention period).
        done=tuple(sorted(done & listed_ids)),
        shards=dict(sorted(shards.items())),
    )


def per_shard_limit(max_rows: int | None, shard_count: int, default: int) -> int:
    """Records each shard may read this batch: Spark's ReadMaxRows spread over shards, capped by the default."""
    if max_rows is None or shard_count == 0:
        return default
    return max(1, min(default, -(-max_rows // shard_count)))


def per_shard_bytes(max_bytes: int | None, shard_count: int) -> int | None:
    """Bytes each shard may read this batch: Spark's ReadMaxBytes spread over shards; None: no byte limit."""
    if max_bytes is None:
        return None
    return max(1, -(-max_bytes // max(1, shard_count)))
