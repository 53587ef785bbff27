"""What a scoring server holds in memory, for the GPU check's HTTP load: each worker's RSS and
peak RSS (/proc), and the GPU's memory per process and in total (nvidia-smi, where it runs)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def parse_compute_apps(text: str) -> dict[int, int]:
    """{pid: used GPU memory in MiB} from `nvidia-smi --query-compute-apps=pid,used_memory
    --format=csv,noheader,nounits`; lines it cannot read are skipped."""
    used: dict[int, int] = {}
    for line in text.splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            used[int(parts[0])] = used.get(int(parts[0]), 0) + int(parts[1])
    return used


def proc_status_kib(status_text: str, field: str) -> int | None:
    """A `field:  N kB` value of /proc/<pid>/status, in KiB."""
    for line in status_text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def children(pid: int) -> list[int]:
    """The direct children of `pid` (a gunicorn master's are its workers)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(child) for child in (task / "children").read_text().split()]
    except OSError:
        return []
    return sorted(set(found))


def memory_mib(pid: int) -> tuple[float | None, float | None]:
    """(RSS, peak RSS) of `pid` in MiB, from /proc/<pid>/status; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None, None
    rss, peak = proc_status_kib(text, "VmRSS"), proc_status_kib(text, "VmHWM")
    return (None if rss is None else round(rss / 1024, 1)), (None if peak is None else round(peak / 1024, 1))


def nvidia_smi_query(args: Sequence[str]) -> str | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        done = subprocess.run([smi, *args], capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def gpu_memory_used_mib() -> int | None:
    """The first GPU's used memory (all processes), MiB; None without nvidia-smi."""
    out = nvidia_smi_query(["--query-gpu=memory.used", "--format=csv,noheader,nounits"])
    first = (out or "").strip().splitlines()[:1]
    return int(first[0]) if first and first[0].strip().isdigit() else None


def compute_apps() -> dict[int, int] | None:
    out = nvidia_smi_query(["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"])
    return None if out is None else parse_compute_apps(out)


def server_memory(master_pid: int, gpu_before: int | None) -> dict[str, Any]:
    """Each worker's RSS and GPU memory, after the load (the largest batch has run)."""
    apps = compute_apps()
    rows = []
    for pid in children(master_pid):
        rss, peak = memory_mib(pid)
        rows.append(
            {
                "pid": pid,
                "rss_mib": rss,
                "peak_rss_mib": peak,
                "gpu_memory_mib": None if apps is None else apps.get(pid),
            }
        )
    master_rss, _ = memory_mib(master_pid)
    gpu_after = gpu_memory_used_mib()
    note = None
    if apps is None:
        note = "nvidia-smi not available: no GPU memory per process"
    elif rows and all(row["gpu_memory_mib"] is None for row in rows):
        note = (
            "nvidia-smi lists no compute process with a worker's pid (a container's pid namespace "
            "hides them); the GPU's used memory before and after shows their total"
        )
    return {
        "worker": rows,
        "master_rss_mib": master_rss,
        "gpu_memory_used_mib": {"before_start": gpu_before, "after_load": gpu_after},
        "gpu_memory_note": note,
    }
