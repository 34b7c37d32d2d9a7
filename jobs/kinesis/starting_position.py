"""Where a new checkpoint starts reading: the ``startingPosition`` forms, parsed strictly and resolved.

``TRIM_HORIZON``, ``LATEST`` (pinned to the moment the checkpoint is created), ``AT_TIMESTAMP:<epoch
seconds or RFC 3339 time>`` or a JSON object of per-shard sequence numbers. A restart resumes from
its checkpoint and ignores this setting.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime

from common.env import SettingError
from jobs.kinesis.positions import SEQUENCE_TYPES, TRIM_HORIZON, Position

_STARTING_FORMS = (
    "TRIM_HORIZON, LATEST, AT_TIMESTAMP:<epoch seconds or RFC 3339 time> or a JSON object of per-shard "
    'positions like {"shardId-000000000000": {"type": "AFTER_SEQUENCE_NUMBER", "seq": "123"}}'
)


@dataclass(frozen=True)
class ResolvedStart:
    """Where a new checkpoint starts: every shard from ``initial``, except those in ``per_shard``."""

    initial: Position
    per_shard: dict[str, Position] = field(default_factory=dict)


@dataclass(frozen=True)
class StartingPosition:
    """Where a new checkpoint starts reading (``STARTING_POSITION``, the source's ``startingPosition``).

    ``kind`` is TRIM_HORIZON, LATEST, AT_TIMESTAMP (``timestamp`` in epoch seconds) or
    SEQUENCE_NUMBERS (``per_shard``; shards not named start from TRIM_HORIZON).
    """

    kind: str
    timestamp: float | None = None
    per_shard: tuple[tuple[str, str, str], ...] = ()  # (shard id, AT_/AFTER_SEQUENCE_NUMBER, sequence number)

    @classmethod
    def parse(cls, name: str, value: str) -> StartingPosition:
        """Parse the setting ``name``; a ``SettingError`` names it, the value and the accepted forms."""
        text = value.strip()
        upper = text.upper()
        if upper in ("TRIM_HORIZON", "LATEST"):
            return cls(upper)
        if upper.startswith("AT_TIMESTAMP:"):
            return cls("AT_TIMESTAMP", timestamp=_epoch_seconds(name, text.split(":", 1)[1].strip()))
        if text.startswith("{"):
            return cls("SEQUENCE_NUMBERS", per_shard=_per_shard_positions(name, text))
        raise SettingError(f"{name} must be {_STARTING_FORMS}, got {value!r}")

    @property
    def option(self) -> str:
        """The ``startingPosition`` option's text (Spark's data source options are strings)."""
        if self.kind == "AT_TIMESTAMP":
            return f"AT_TIMESTAMP:{self.timestamp!r}"
        if self.kind == "SEQUENCE_NUMBERS":
            return json.dumps({shard: {"type": kind, "seq": seq} for shard, kind, seq in self.per_shard})
        return self.kind

    def resolve(self, now: float | None = None) -> ResolvedStart:
        """The positions of a new checkpoint; LATEST is pinned to ``now`` so nothing arriving between
        batches is skipped."""
        if self.kind == "LATEST":
            return ResolvedStart({"type": "AT_TIMESTAMP", "ts": time.time() if now is None else now})
        if self.kind == "AT_TIMESTAMP":
            assert self.timestamp is not None
            return ResolvedStart({"type": "AT_TIMESTAMP", "ts": self.timestamp})
        per_shard: dict[str, Position] = {shard: {"type": kind, "seq": seq} for shard, kind, seq in self.per_shard}
        return ResolvedStart(TRIM_HORIZON, per_shard)


def _epoch_seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = _rfc3339_seconds(name, value)
    if not 0 <= seconds < 1e11:  # NaN, infinities, negative or past year 5000
        raise SettingError(f"{name} AT_TIMESTAMP must be epoch seconds after 1970, got {value!r}")
    return seconds


def _rfc3339_seconds(name: str, value: str) -> float:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise SettingError(
            f"{name} AT_TIMESTAMP needs epoch seconds or an RFC 3339 time with its zone like 2026-11-26T08:00:00Z, "
            f"got {value!r}"
        )
    return moment.timestamp()


def _per_shard_positions(name: str, text: str) -> tuple[tuple[str, str, str], ...]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise SettingError(f"{name} JSON is invalid ({error}); it must be {_STARTING_FORMS}") from None
    if not isinstance(parsed, dict) or not parsed:
        raise SettingError(f"{name} must be {_STARTING_FORMS}, got {text!r}")
    positions = []
    for shard_id, position in sorted(parsed.items()):
        seq = position.get("seq") if isinstance(position, dict) else None
        if (
            not isinstance(position, dict)
            or position.get("type") not in SEQUENCE_TYPES
            or not isinstance(seq, str)
            or not seq.isascii()
            or not seq.isdigit()
        ):
            raise SettingError(
                f'{name} for {shard_id} must be {{"type": "AT_SEQUENCE_NUMBER"|"AFTER_SEQUENCE_NUMBER", '
                f'"seq": "<digits>"}}, got {position!r}'
            )
        positions.append((shard_id, position["type"], seq))
    return tuple(positions)
