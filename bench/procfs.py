"""What /proc says about processes the benchmarks started (stdlib only: both environments use it)."""

from __future__ import annotations

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
