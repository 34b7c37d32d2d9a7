"""Figure 7: the deduplication cache (``jobs.dedup.KeptCopies``): memory per million ids, time per batch.

The driver keeps the ids of the last ``DEDUP_WINDOW`` of arrivals; this measures what that costs
in the driver's Python process: bytes per cached id (everything tracemalloc sees after the cache is
filled by 10,000-row batches as the job fills it, and the arrays alone), and the time ``decide`` takes per 10,000-row batch against
a cache of each size, with no table lookup (the steady state) and with every id a duplicate.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
import uuid
from typing import Any

from bench.progress import log
from bench.stats import median
from jobs.dedup import Copy, KeptCopies

BATCH_ROWS = 10_000
SECOND_US = 1_000_000


def _batch(start: int, rows: int, rate_per_s: int) -> list[Copy]:
    """``rows`` new articles arriving at ``rate_per_s`` on 4 shards, Kinesis-sized sequence numbers."""
    return [
        Copy(
            (start + n) * SECOND_US // rate_per_s,
            f"shardId-00000000000{n % 4}",
            str(49_600_000_000_000_000_000_000_000_000_000_000_000_000_000 + start + n),
            str(uuid.uuid4()),
        )
        for n in range(rows)
    ]


def _no_table(*_: Any) -> list[Copy]:
    return []


def cache_cost(ids: int, rate_per_s: int = 1000, runs: int = 3) -> dict[str, Any]:
    """Fill a cache with ``ids`` copies inside the horizon; its memory and the time of one more batch."""
    horizon_us = (ids // rate_per_s + 60) * SECOND_US  # every id stays cached
    gc.collect()
    tracemalloc.start()
    kept = KeptCopies(horizon_us)
    filled = 0
    while filled < ids:
        rows = min(BATCH_ROWS, ids - filled)
        kept.decide(_batch(filled, rows, rate_per_s), _no_table)
        filled += rows
    gc.collect()
    cache_bytes, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    fresh, repeated = [], []
    for run in range(runs):
        batch = _batch(ids + run * BATCH_ROWS, BATCH_ROWS, rate_per_s)
        began = time.perf_counter()
        kept.decide(batch, _no_table)
        fresh.append((time.perf_counter() - began) * 1000)
        again = [Copy(c.arrival_us + SECOND_US, c.shard_id, c.sequence_number + "1", c.article_id) for c in batch]
        began = time.perf_counter()
        kept.decide(again, _no_table)
        repeated.append((time.perf_counter() - began) * 1000)
    return {
        "cached_ids": len(kept),
        "cache_mb": round(cache_bytes / 1e6, 1),
        "array_mb": round(kept.nbytes / 1e6, 1),
        "bytes_per_id": round(cache_bytes / ids),
        "runs": runs,
        "decide_ms_per_10k_new": round(median(fresh), 1),
        "decide_ms_per_10k_duplicates": round(median(repeated), 1),
    }


def dedup_cache(sizes: list[int], runs: int) -> dict[str, Any]:
    """Figure 7: ``cache_cost`` for each cache size in ``sizes``."""
    results = []
    for ids in sizes:
        log(f"7. dedup cache with {ids:,} ids")
        results.append({"ids": ids, **cache_cost(ids, runs=runs)})
    return {"sizes": results}
