"""What /proc says about processes a benchmark or the HTTP fuzz started (stdlib only: both
environments use it)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def rss_kib(pids: set[int]) -> int:
    """The summed resident set size of `pids`, in KiB; a process that is gone counts 0."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) spent so far by `pid` and every descendant still running, e.g.
    a server and its workers; 0 for a process that is gone."""
    ticks = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, *, window_s: float = 0.1, busy_share: float = 0.05, timeout_s: float = 20.0) -> float:
    """Wait until `pid` and its descendants use less than `busy_share` of a core over `window_s`
    (e.g. a server still answering requests its client abandoned at a deadline), at most
    `timeout_s`; returns the seconds waited."""
    began = time.monotonic()
    spent = tree_cpu_s(pid)
    while time.monotonic() - began < timeout_s:
        time.sleep(window_s)
        now = tree_cpu_s(pid)
        if now - spent < busy_share * window_s:
            break
        spent = now
    return time.monotonic() - began
