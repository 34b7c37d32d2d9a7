"""One shard for one batch, read on an executor: its records, and its end recorded (or replayed) in the position log.

The first attempt to finish records where it stopped (first writer wins); a retried or
speculative attempt, or a replay after a restart, returns exactly the recorded records.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.kinesis.client import KinesisApi, KinesisClient, boto3_kinesis
from jobs.kinesis.fan_out import ShardSubscriber
from jobs.kinesis.faults import FaultyKinesisClient
from jobs.kinesis.options import SourceOptions
from jobs.kinesis.position_log import open_position_log
from jobs.kinesis.positions import Position, ShardEnd
from jobs.kinesis.shard_reader import KinesisRecord, ReadLimits, ShardReader


@dataclass(frozen=True)
class ShardBatch:
    """Everything a task needs to read one shard for one batch (travels to the executor)."""

    options: SourceOptions
    run: str
    batch: int
    shard_id: str
    start: Position
    limit: int
    byte_limit: int | None = None
    consumer_arn: str | None = None  # read a first attempt through this consumer's subscription (enhanced fan-out)


def executor_client(batch: ShardBatch) -> KinesisClient:
    """The task's Kinesis client: the worker's cached boto3 client, with the source's faults injected when set."""
    options = batch.options
    api: KinesisApi = boto3_kinesis(options.aws)
    if options.faults.enabled:
        api = FaultyKinesisClient(api, options.faults, f"{batch.run}:{batch.batch}:{batch.shard_id}")
    return KinesisClient(api, options.stream_name, options.retry_deadline_seconds)


def read_shard_batch(batch: ShardBatch) -> tuple[list[KinesisRecord], ShardEnd]:
    """Read one shard for one batch, recording (or replaying) its end in the position log.

    Returns
    -------
    The records, and the end the position log holds for (batch, shard) afterwards.
    """
    options = batch.options
    log = open_position_log(options.position_log, batch.run, options.aws)
    recorded = log.get(batch.batch, batch.shard_id)
    reader = ShardReader(
        executor_client(batch),
        batch.shard_id,
        ReadLimits(max_records=batch.limit, max_fetch_seconds=options.max_fetch_seconds, max_bytes=batch.byte_limit),
        ShardSubscriber(options.aws, batch.consumer_arn) if batch.consumer_arn is not None else None,
    )
    records, end = reader.read(batch.start, recorded)
    if recorded is None:
        winner = log.put_if_absent(batch.batch, batch.shard_id, end)
        if winner != end:
            # Another attempt of this task recorded its end first: return exactly its records.
            if winner.records <= len(records):
                records = records[: winner.records]
            else:
                records, _ = reader.read(batch.start, winner)
            end = winner
    return records, end
