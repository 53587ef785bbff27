"""Load drivers: each runs one closed-loop load in a separate process and returns a LoadResult.

- `python`: bench/loadgen.py (asyncio, raw sockets), our own; always available.
- `hey`: Debian's `hey` (Go), installed by `make bench-tools`; stopped with SIGINT at the deadline
  (hey then reports what it has), and `-n` bounds the request count.

Both are bounded in time and count, and both report the CPU seconds the client process used
(RUSAGE_CHILDREN around the run), from which the report shows the client's own ceiling.
"""

from __future__ import annotations

import json
import math
import re
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.loadgen import LoadResult

LOADGEN = Path(__file__).resolve().parent / "loadgen.py"
DRIVERS = ("python", "hey")


@dataclass(frozen=True)
class LoadSpec:
    """One cell's load: where, what, how hard and for how long."""

    url: str
    body_path: Path
    content_type: str
    concurrency: int
    duration_s: float
    max_requests: int
    grace_s: float = 30.0


class DriverError(RuntimeError):
    """The load generator failed to run or its output could not be read."""


def resolve_driver(name: str) -> str:
    """`auto` picks hey when it is installed, else our python client; anything else is checked."""
    if name == "auto":
        return "hey" if shutil.which("hey") else "python"
    if name not in DRIVERS:
        raise ValueError(f"--loadgen {name!r}: expected one of auto, {', '.join(DRIVERS)}")
    if name == "hey" and not shutil.which("hey"):
        raise ValueError("--loadgen hey: hey is not installed (make bench-tools installs it from Debian)")
    return name


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_load(driver: str, spec: LoadSpec) -> LoadResult:
    """Run `spec` with the named driver (see resolve_driver) in its own process."""
    cpu_before = _children_cpu_s()
    result = _run_python(spec) if driver == "python" else _run_hey(spec)
    result.client_cpu_s = _children_cpu_s() - cpu_before
    return result


def _run_python(spec: LoadSpec) -> LoadResult:
    command = [
        sys.executable,
        str(LOADGEN),
        f"--url={spec.url}",
        f"--body={spec.body_path}",
        f"--content-type={spec.content_type}",
        f"--concurrency={spec.concurrency}",
        f"--duration={spec.duration_s}",
        f"--max-requests={spec.max_requests}",
        f"--grace={spec.grace_s}",
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=spec.duration_s + spec.grace_s + 30
    )
    if completed.returncode != 0:
        raise DriverError(f"loadgen exited with {completed.returncode}: {completed.stderr.strip()[-2000:]}")
    fields = json.loads(completed.stdout)
    return LoadResult(**fields)


def _run_hey(spec: LoadSpec) -> LoadResult:
    command = [
        "hey",
        "-n",
        str(max(spec.max_requests, spec.concurrency)),
        "-c",
        str(spec.concurrency),
        "-m",
        "POST",
        "-T",
        spec.content_type,
        "-D",
        str(spec.body_path),
        "-t",
        str(math.ceil(spec.grace_s)),
        spec.url,
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            out, err = process.communicate(timeout=spec.duration_s)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)  # hey stops sending and prints its report
            try:
                out, err = process.communicate(timeout=spec.grace_s + 10)
            except subprocess.TimeoutExpired:
                process.kill()
                raise DriverError("hey did not stop within the grace period after SIGINT") from None
    if process.returncode != 0 and "Summary:" not in out:
        raise DriverError(f"hey exited with {process.returncode}: {err.strip()[-2000:]}")
    return parse_hey_summary(out)


_HEY_TOTAL = re.compile(r"^\s*Total:\s+([\d.]+) secs", re.M)
_HEY_SLOWEST = re.compile(r"^\s*Slowest:\s+([\d.]+) secs", re.M)
_HEY_PERCENTILE = re.compile(r"^\s*(\d+)%+ in ([\d.]+) secs", re.M)
_HEY_STATUS = re.compile(r"^\s*\[(\d+)\]\s+(\d+) responses", re.M)
_HEY_ERROR = re.compile(r"^\s*\[(\d+)\]\s+(.+)$", re.M)


def parse_hey_summary(text: str) -> LoadResult:
    """Read hey's default summary: total time, latency percentiles, status and error distributions."""
    total = _HEY_TOTAL.search(text)
    if total is None:
        raise DriverError(f"hey printed no summary:\n{text[-2000:]}")
    percentiles = {int(p): float(s) * 1e3 for p, s in _HEY_PERCENTILE.findall(text)}
    statuses = {code: int(count) for code, count in _HEY_STATUS.findall(text)}
    result = LoadResult(elapsed_s=float(total.group(1)), status_counts=dict(statuses))
    result.ok = sum(count for code, count in statuses.items() if code.startswith("2"))
    result.errors = sum(statuses.values()) - result.ok
    error_section = text.split("Error distribution:", 1)
    if len(error_section) == 2:
        for count, message in _HEY_ERROR.findall(error_section[1]):
            result.errors += int(count)
            result.first_error = result.first_error or message.strip()
        result.status_counts["0"] = result.errors - (sum(statuses.values()) - result.ok)
    # hey leaves out a percentile its sample is too small to reach (99% below 100 responses);
    # the nearest-rank percentile of such a sample is its slowest response.
    slowest = _HEY_SLOWEST.search(text)
    slowest_ms = float(slowest.group(1)) * 1e3 if slowest and result.ok else float("nan")
    result.p50_ms = percentiles.get(50, slowest_ms)
    result.p99_ms = percentiles.get(99, slowest_ms)
    return result
