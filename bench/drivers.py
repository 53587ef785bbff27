"""Load drivers: each runs one closed-loop load in a separate process and returns a LoadResult.

- `python`: harness/loadgen.py (asyncio, raw sockets), our own; always available.
- `wrk`: Debian's `wrk` (C, epoll), installed by `make bench-tools`; one thread, a Lua script for the
  POST; about a fifth of the CPU per request of Go's `hey` (docs/performance.md). No request bound: `-d`
  (whole seconds, rounded up) bounds it, and requests in flight at the end are neither waited for
  nor counted.

`auto` picks wrk, else python. Every driver is bounded in time (python also in
count), and each reports the CPU seconds the client process used (RUSAGE_CHILDREN around the run),
from which the report shows the client's own ceiling.
"""

from __future__ import annotations

import math
import re
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import loadgen
from harness.loadgen import LoadResult

DRIVERS = ("python", "wrk")
AUTO_ORDER = ("wrk",)  # the installed tools `auto` tries, best first; then python
LOADGEN_HELP = "auto (wrk if installed, else python), wrk or python"


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


def resolve_driver(name: str, which: Callable[[str], str | None] = shutil.which) -> str:
    """`auto` picks wrk, else our python client (by what `which` finds on PATH); any other
    name is checked to be a driver whose tool is installed."""
    if name == "auto":
        return next((tool for tool in AUTO_ORDER if which(tool)), "python")
    if name not in DRIVERS:
        raise ValueError(f"--loadgen {name!r}: expected one of auto, {', '.join(DRIVERS)}")
    if name != "python" and not which(name):
        raise ValueError(
            f"--loadgen {name}: {name} is not installed (make bench-tools installs it from Debian)"
        )
    return name


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_load(driver: str, spec: LoadSpec) -> LoadResult:
    """Run `spec` with the named driver (see resolve_driver) in its own process."""
    cpu_before = _children_cpu_s()
    result = _RUNNERS[driver](spec)
    result.client_cpu_s = _children_cpu_s() - cpu_before
    return result


def _run_python(spec: LoadSpec) -> LoadResult:
    try:
        return loadgen.run_process(
            spec.url,
            spec.body_path,
            spec.content_type,
            concurrency=spec.concurrency,
            duration_s=spec.duration_s,
            max_requests=spec.max_requests,
            grace_s=spec.grace_s,
        )
    except loadgen.LoadgenError as error:
        raise DriverError(str(error)) from None


def lua_string(data: bytes) -> str:
    """A Lua string literal holding exactly `data`: every byte as a decimal escape."""
    return '"' + "".join(f"\\{byte:03d}" for byte in data) + '"'


def wrk_script(body_path: Path, content_type: str) -> str:
    """The Lua script that makes wrk POST the body file with the given Content-Type."""
    return (
        'wrk.method = "POST"\n'
        f'local file = assert(io.open({lua_string(bytes(body_path))}, "rb"))\n'
        'wrk.body = file:read("*a")\n'
        "file:close()\n"
        f'wrk.headers["Content-Type"] = {lua_string(content_type.encode())}\n'
    )


def _run_wrk(spec: LoadSpec) -> LoadResult:
    seconds = max(1, math.ceil(spec.duration_s))  # wrk takes whole seconds
    deadline_s = seconds + spec.grace_s + 30
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(wrk_script(spec.body_path.resolve(), spec.content_type))
        command = [
            "wrk",
            "-t1",  # one thread uses the least CPU, and epoll serves every connection from it
            f"-c{spec.concurrency}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            f"{math.ceil(spec.grace_s)}s",
            "-s",
            str(script),
            spec.url,
        ]
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=deadline_s)
        except subprocess.TimeoutExpired:
            raise DriverError(f"wrk did not finish within {deadline_s:.0f} s") from None
    if completed.returncode != 0:
        output = (completed.stderr.strip() + "\n" + completed.stdout.strip()).strip()
        raise DriverError(f"wrk exited with {completed.returncode}: {output[-2000:]}")
    return parse_wrk_summary(completed.stdout)


_WRK_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_WRK_TIME = r"([\d.]+)(us|ms|s|m|h)"
_WRK_TOTAL = re.compile(rf"^\s*(\d+) requests in {_WRK_TIME},", re.M)
_WRK_PERCENTILE = re.compile(rf"^\s*(\d+)%\s+{_WRK_TIME}\s*$", re.M)
_WRK_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses: (\d+)", re.M)
_WRK_SOCKET_ERRORS = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M
)


def _wrk_ms(value: str, unit: str) -> float:
    return float(value) * _WRK_UNIT_MS[unit]


def parse_wrk_summary(text: str) -> LoadResult:
    """Read wrk 4.1's summary (`--latency`) into a LoadResult.

    What wrk counts (src/wrk.c): "N requests" are the responses received whatever their status;
    "Non-2xx or 3xx responses" are those among them with a status above 399 (so a 3xx counts as
    ok here); a "timeout" socket error is a response that did arrive, but after `--timeout`, so it
    is among the N too and is not timed. Connect, read and write errors are requests that got no
    response, not among the N. Hence ok = N - non-2xx - timeouts and errors = non-2xx + every
    socket error. Debian's 4.1.0 also counts a read error when a server closes a keep-alive
    connection after a whole response without saying `Connection: close`; azmlinfsrv's gunicorn
    says it on every response, and against it wrk reports no read errors.

    The percentiles are wrk's: over every response (not only the 2xx, unlike the other drivers) and
    after wrk's correction for coordinated omission. NaN when no response was ok.
    """
    total = _WRK_TOTAL.search(text)
    if total is None:
        raise DriverError(f"wrk printed no summary:\n{text[-2000:]}")
    responses = int(total.group(1))
    non_2xx_match = _WRK_NON_2XX.search(text)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else 0
    socket_match = _WRK_SOCKET_ERRORS.search(text)
    connect, read, write, timeout = (int(n) for n in socket_match.groups()) if socket_match else (0, 0, 0, 0)

    result = LoadResult(elapsed_s=_wrk_ms(total.group(2), total.group(3)) / 1e3)
    result.ok = max(0, responses - non_2xx - timeout)
    result.errors = non_2xx + connect + read + write + timeout
    result.status_counts = {"<400": result.ok, ">=400": non_2xx, "0": connect + read + write + timeout}
    problems = [f"{non_2xx} responses with a status >= 400"] if non_2xx else []
    if socket_match:
        problems.append(f"socket errors: connect {connect}, read {read}, write {write}, timeout {timeout}")
    result.first_error = f"wrk: {'; '.join(problems)}" if problems else ""
    distribution = text.split("Latency Distribution", 1)
    percentiles = {
        int(p): _wrk_ms(value, unit)
        for p, value, unit in (_WRK_PERCENTILE.findall(distribution[1]) if len(distribution) == 2 else [])
    }
    if result.ok:
        result.p50_ms = percentiles.get(50, float("nan"))
        result.p99_ms = percentiles.get(99, float("nan"))
    return result


_RUNNERS: dict[str, Callable[[LoadSpec], LoadResult]] = {
    "python": _run_python,
    "wrk": _run_wrk,
}
