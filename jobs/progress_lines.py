"""The job's progress lines: one ``batch_completed`` log line per completed micro-batch of each query."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from common.logs import log_event
from jobs.checkpoint_files import CheckpointFiles
from jobs.job_metrics import JobMetrics
from jobs.settings import JobSettings
from jobs.watermark_drops import WatermarkDrops, dropped_in_batch

logger = logging.getLogger("jobs.progress_lines")


def batch_shard_lag(settings: JobSettings, progress: dict[str, Any], query_name: str) -> dict[str, Any]:
    """Per-shard records read and millisBehindLatest of the batch a progress report covers.

    Parameters
    ----------
    settings : JobSettings
        Where the query's position log is.
    progress : dict
        One of Spark's progress reports of the query (``StreamingQuery.recentProgress``).
    query_name : str
        The query the report is of.

    Returns
    -------
    dict
        ``jobs.kinesis.progress.shard_lag`` of the batch's shards; empty when the report names no
        Kinesis offset (another source, or no batch yet).
    """
    from jobs.kinesis.positions import SourceOffset
    from jobs.kinesis.progress import shard_ends, shard_lag

    sources = progress.get("sources") or []
    if not sources or not sources[0].get("endOffset"):
        return {}
    offset = SourceOffset.parse(sources[0]["endOffset"])
    if offset is None:
        return {}
    return shard_lag(shard_ends(offset, settings.source_options(query_name)["positionLog"], settings.aws))


@dataclass
class ProgressReporter:
    """One ``batch_completed`` line per completed batch of each query, none missed or repeated.

    Rows a watermark dropped are counted in the line and in the query's running total
    (``jobs.watermark_drops``, which ``make status`` shows).
    """

    settings: JobSettings
    seen: dict[str, int] = field(default_factory=dict)  # the last batch reported per query
    drops: dict[str, WatermarkDrops] = field(default_factory=dict)
    metrics: JobMetrics = field(default_factory=JobMetrics)
    files: CheckpointFiles = field(init=False)

    def __post_init__(self) -> None:
        self.files = self.settings.checkpoint_files()

    def report(self, queries: list[Any]) -> list[str]:
        """Log the batches completed since the last call; the names of the queries that completed one."""
        reported = []
        for query in queries:
            batches = [p for p in query.recentProgress if p["batchId"] > self.seen.get(query.name, -1)]
            for progress in batches:
                self._line(query.name, progress)
            if batches:
                reported.append(query.name)
        return reported

    def _line(self, query_name: str, progress: dict[str, Any]) -> None:
        self.seen[query_name] = progress["batchId"]
        checkpoint = self.settings.query_checkpoint(query_name)
        tally = self.drops.get(query_name) or WatermarkDrops.load(self.files, checkpoint)
        dropped = dropped_in_batch(progress)
        self.drops[query_name] = tally.add(self.files, checkpoint, progress["batchId"], dropped)
        shards = batch_shard_lag(self.settings, progress, query_name)
        self.metrics.batch_completed(query_name, progress, shards, dropped)
        log_event(
            logger,
            "batch_completed",
            query=query_name,
            batch=progress["batchId"],
            input_rows=progress.get("numInputRows", 0),
            rows_per_second=round(progress.get("processedRowsPerSecond") or 0.0, 1),
            duration_ms=progress.get("durationMs", {}).get("triggerExecution"),
            sink_ms=progress.get("durationMs", {}).get("addBatch"),
            # Spark's phases of the batch (latestOffset, getBatch, queryPlanning, addBatch, walCommit, commitOffsets).
            durations_ms=progress.get("durationMs", {}),
            watermark=progress.get("eventTime", {}).get("watermark"),
            dropped_by_watermark=dropped,
            dropped_by_watermark_total=self.drops[query_name].total,
            shards=shards,
        )
