"""/proc readings of a process tree (psutil is not installed): its members, their CPU time and memory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    tree = _children_map()
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the processes of ``pid``'s tree have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for member in descendants(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def proc_memory(pid: int, root: int | None = None) -> dict[str, Any] | None:
    """RSS, peak RSS (VmHWM) and PSS of one process; kind = jvm | python_driver | python_worker | other.

    python_worker covers every Python process Spark starts (pyspark.daemon and its forked
    workers, the streaming source runner, data source planning/commit workers). Forked workers
    share pages with their daemon, so sums use PSS (shared pages divided among sharers).
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    fields = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Name"):
            fields[key] = value.strip()
    if "VmRSS" not in fields:
        return None
    if fields.get("Name") == "java" or "/java " in cmdline or cmdline.startswith("java "):
        kind = "jvm"
    elif "pyspark" in cmdline:
        kind = "python_worker"
    elif pid == root:
        kind = "python_driver"
    else:
        kind = "other"
    pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {
        "pid": pid,
        "kind": kind,
        "rss_kb": int(fields["VmRSS"].split()[0]),
        "hwm_kb": int(fields.get("VmHWM", "0 kB").split()[0]),
        "pss_kb": pss,
        "cmd": cmdline[:120],
    }


def tree_memory(pid: int) -> list[dict[str, Any]]:
    """``proc_memory`` of every process in ``pid``'s tree that is still there (``pid`` is the driver)."""
    return [m for m in (proc_memory(p, pid) for p in descendants(pid)) if m is not None]
