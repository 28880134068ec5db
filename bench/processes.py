"""What the stack's processes cost, read from /proc: CPU time over a window and resident
memory, each process counted with all of its descendants (a Celery worker's pool)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue  # the thread ended while we looked
    return found


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time of these processes (each with its descendants)."""
    ticks = 0
    for root in pids:
        for pid in descendants(root):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / TICKS_PER_SECOND


def rss_mb(pid: int) -> float:
    """Resident memory of one process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


def rss_by_process(roots: Mapping[str, int]) -> dict[str, float]:
    """Resident memory of every process under each named root: ``worker``, ``worker.1``..."""
    sizes: dict[str, float] = {}
    for name, root in roots.items():
        for index, pid in enumerate(descendants(root)):
            sizes[name if index == 0 else f"{name}.{index}"] = rss_mb(pid)
    return sizes
