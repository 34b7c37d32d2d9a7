"""The summary statistics the figures quote: medians and latency percentiles.

Three medians on purpose, each kept as the figures have always computed it: ``median`` over
runs (NaN when there are none), ``upper_median`` over a phase's job batches (the upper middle
value, None when there are none) and ``median_of_present`` over values a result file may lack.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any


def median(values: Iterable[float]) -> float:
    """The median of the runs of one figure; NaN when there are none."""
    values = list(values)
    return statistics.median(values) if values else float("nan")


def upper_median(values: list[Any]) -> Any:
    """The middle value (the upper one of an even count); None when there are none."""
    return sorted(values)[len(values) // 2] if values else None


def median_of_present(values: list[float | None]) -> float | None:
    """The median of the values that are there (neither None nor 0); None when none are."""
    present = [v for v in values if v]
    return statistics.median(present) if present else None


def p50_p90(values: list[float]) -> dict[str, float | int | None]:
    """p50 and p90 (numpy's linear interpolation) and the count of ``values``; None percentiles when there are none."""
    import numpy as np

    if not values:
        return {"p50": None, "p90": None, "n": 0}
    p50, p90 = np.percentile(np.array(values, dtype=float), [50, 90])
    return {"p50": round(float(p50), 1), "p90": round(float(p90), 1), "n": len(values)}


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99, max and min of ``values``; NaN percentiles and max when there are none."""
    import numpy as np

    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan")}
    array = np.array(values)
    return {
        "p50": float(np.percentile(array, 50)),
        "p95": float(np.percentile(array, 95)),
        "p99": float(np.percentile(array, 99)),
        "max": float(array.max()),
        "min": float(array.min()),
    }
