"""Where a query stands, per shard: the one reader of per-shard lag for the job's log and ``make status``.

A batch's source offset names its run, batch number and shards; the shard-position log holds,
for each shard the batch has finished, the records read and ``millisBehindLatest``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from common.settings import AwsSettings
from jobs.checkpoint_files import CheckpointFiles
from jobs.kinesis.position_log import open_position_log
from jobs.kinesis.positions import ShardEnd, SourceOffset


@dataclass(frozen=True)
class CheckpointedBatch:
    """The newest entry of a query's offset log (Spark's ``<checkpoint>/offsets/<batch>``)."""

    batch_id: int
    watermark_ms: int
    source_offset: SourceOffset | None  # None when the query reads another source


def shard_ends(offset: SourceOffset, position_log_root: str, aws: AwsSettings) -> dict[str, ShardEnd | None]:
    """For each shard of the batch ``offset`` starts, its end in the position log (None while still reading)."""
    log = open_position_log(position_log_root, offset.run, aws)
    return {shard: log.get(offset.batch, shard) for shard in offset.shards}


def shard_lag(ends: Mapping[str, ShardEnd | None]) -> dict[str, dict[str, int | None]]:
    """``{shard: {"records", "bytes", "millis_behind_latest", "get_records_calls", "subscribe_calls",
    "retries", "renewals"}}`` of
    the shards a batch finished."""
    return {
        shard: {
            "records": end.records,
            "bytes": end.bytes,
            "millis_behind_latest": end.millis_behind_latest,
            "get_records_calls": end.get_records_calls,
            "subscribe_calls": end.subscribe_calls,
            "retries": end.retries,
            "renewals": end.renewals,
        }
        for shard, end in ends.items()
        if end is not None
    }


def latest_checkpointed_batch(files: CheckpointFiles, checkpoint_dir: str) -> CheckpointedBatch | None:
    """The newest planned batch of the query checkpointed in ``checkpoint_dir``, None before the first.

    An offset-log file is a version line (``v1``), the batch metadata as JSON (watermark among it),
    then one JSON line per source of the query; the job's queries have one source each.
    """
    offsets = os.path.join(checkpoint_dir, "offsets")
    newest = _newest_batch(files, offsets)
    text = None if newest is None else files.read_text(os.path.join(offsets, str(newest)))
    if newest is None or text is None:
        return None
    _version, metadata, source_offset, *_ = text.splitlines()
    return CheckpointedBatch(newest, int(json.loads(metadata)["batchWatermarkMs"]), SourceOffset.parse(source_offset))


def latest_committed_batch(files: CheckpointFiles, checkpoint_dir: str) -> int | None:
    """The newest batch Spark committed (``<checkpoint>/commits/<batch>``), None before the first."""
    return _newest_batch(files, os.path.join(checkpoint_dir, "commits"))


def _newest_batch(files: CheckpointFiles, log_dir: str) -> int | None:
    """The highest batch number among the files of one of Spark's logs (``offsets``, ``commits``)."""
    batches = [int(name) for name in files.names(log_dir) if name.isdigit()]
    return max(batches) if batches else None
