"""Figure 6: the memory of the job's process tree, sampled while it runs, and its summary."""

from __future__ import annotations

import threading
from typing import Any

from bench.process_tree import tree_memory

KINDS = ("jvm", "python_driver", "python_worker")


class MemorySampler:
    """Samples VmRSS of the job's process tree; per phase maxima by kind, VmHWM at the end."""

    def __init__(self, pid: int, every: float = 1.0) -> None:
        self.pid = pid
        self.every = every
        self.phase = "startup"
        self.maxima: dict[str, dict[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        """Start sampling every ``every`` seconds in a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling (waits up to 10 s for the sample under way)."""
        self._stop.set()
        self._thread.join(10)

    def sample(self) -> dict[str, Any]:
        """The tree's processes now, and per kind their count, summed RSS, PSS and peak RSS, and largest peak."""
        processes = tree_memory(self.pid)
        by_kind: dict[str, Any] = {"processes": processes}
        for kind in KINDS:
            members = [p for p in processes if p["kind"] == kind]
            if kind == "jvm":
                # A JVM forking a Python daemon briefly shows a second "java" process with the
                # parent's pages: count the largest JVM only.
                members = sorted(members, key=lambda p: p["rss_kb"])[-1:]
            by_kind[kind] = {
                "count": len(members),
                "rss_mb": sum(p["rss_kb"] for p in members) / 1024,
                "pss_mb": sum(p["pss_kb"] for p in members) / 1024,
                "hwm_mb": sum(p["hwm_kb"] for p in members) / 1024,
                "max_single_hwm_mb": max((p["hwm_kb"] for p in members), default=0) / 1024,
            }
        return by_kind

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            sample = self.sample()
            phase = self.maxima.setdefault(self.phase, {})
            for kind in KINDS:
                phase[f"{kind}_rss_mb"] = max(phase.get(f"{kind}_rss_mb", 0), round(sample[kind]["rss_mb"], 1))
                phase[f"{kind}_pss_mb"] = max(phase.get(f"{kind}_pss_mb", 0), round(sample[kind]["pss_mb"], 1))
                phase[f"{kind}_count"] = max(phase.get(f"{kind}_count", 0), sample[kind]["count"])

    def summary(self, final: dict[str, Any]) -> dict[str, Any]:
        """The ``memory`` result: peaks from ``final`` (the last ``sample()``), the per-phase maxima, the processes."""
        return {
            "jvm_peak_rss_mb": round(final["jvm"]["hwm_mb"], 1),
            "python_driver_peak_rss_mb": round(final["python_driver"]["hwm_mb"], 1),
            "python_workers": final["python_worker"]["count"],
            "python_workers_peak_rss_mb_max_single": round(final["python_worker"]["max_single_hwm_mb"], 1),
            "python_workers_rss_mb_sum_at_end": round(final["python_worker"]["rss_mb"], 1),
            "python_workers_pss_mb_sum_at_end": round(final["python_worker"]["pss_mb"], 1),
            "steady_state_max_rss_by_phase": self.maxima,
            "processes_at_end": [
                {k: p[k] for k in ("pid", "kind", "rss_kb", "hwm_kb", "pss_kb", "cmd")} for p in final["processes"]
            ],
        }
