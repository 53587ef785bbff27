"""A closed-loop HTTP load generator over raw asyncio sockets, run as its own process: the load
driver the benchmark (where wrk is not installed) and the GPU check share.

    python harness/loadgen.py --url http://127.0.0.1:P/score --body FILE --content-type T \
        --concurrency C --duration S --max-requests N

`run_process(...)` starts it so and returns its `LoadResult`.

`concurrency` connections each send a request, wait for the whole response, and send the next,
until `duration` seconds have passed or `max_requests` have been sent; in-flight requests then get
`--grace` seconds to finish. One JSON object goes to stdout: counts, elapsed time, latency
percentiles of the successful requests and the CPU seconds this process used, so the caller can
show that the client is not the bottleneck (CPU per request sets the client's own ceiling).

Stdlib only, one request per connection (`Connection: close`, as azmlinfsrv's gunicorn sync workers
close every connection anyway), and only loopback addresses are accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    """What one load run measured; latencies are of 2xx responses only."""

    ok: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    client_cpu_s: float = 0.0
    status_counts: dict[str, int] = field(default_factory=dict)
    first_error: str = ""


class LoadgenError(RuntimeError):
    """The load generator's process failed or printed no result."""


def run_process(
    url: str,
    body_path: Path,
    content_type: str,
    *,
    concurrency: int,
    duration_s: float,
    max_requests: int,
    grace_s: float,
) -> LoadResult:
    """Run one load in a separate process of this interpreter; what it measured."""
    argv = [sys.executable, __file__, f"--url={url}", f"--body={body_path}", f"--content-type={content_type}"]
    argv += [f"--concurrency={concurrency}", f"--duration={duration_s}", f"--max-requests={max_requests}"]
    argv += [f"--grace={grace_s}"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + grace_s + 60)
    except subprocess.TimeoutExpired as error:
        raise LoadgenError(f"harness/loadgen.py did not finish: {error}") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise LoadgenError(f"harness/loadgen.py exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return LoadResult(**json.loads(lines[-1]))


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list; NaN for an empty one."""
    if not sorted_values:
        return float("nan")
    rank = min(max(1, math.ceil(fraction * len(sorted_values))), len(sorted_values))
    return sorted_values[rank - 1]


def build_request(url: str, body: bytes, content_type: str) -> tuple[str, int, bytes]:
    """Host, port and the exact bytes of one POST; refuses anything but a loopback http URL."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise ValueError(f"--url {url!r}: expected http://<loopback address>:<port>/<path>")
    host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(
            f"--url {url!r}: host {host!r} is not a loopback address; the bench stays on loopback"
        )
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{parts.port}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return host, parts.port, head.encode("ascii") + body


async def _one_request(host: str, port: int, request: bytes) -> int:
    """Send one request on a new connection and read the whole response; returns the status code."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            await reader.read()  # no length: the body ends when the server closes
        else:
            await reader.readexactly(length)
        return status
    finally:
        writer.close()


async def run_load(
    url: str,
    body: bytes,
    content_type: str,
    *,
    concurrency: int,
    duration_s: float,
    max_requests: int,
    grace_s: float,
    request_timeout_s: float,
    on_reply: Callable[[float, float, int], None] | None = None,
) -> LoadResult:
    """Drive the URL closed-loop and return what was measured (see the module docstring);
    `on_reply(seconds since the start, latency ms, status)` sees every request as it ends."""
    host, port, request = build_request(url, body, content_type)
    result = LoadResult()
    latencies: list[float] = []
    sent = 0
    start = time.perf_counter()
    stop_at = start + duration_s
    last_done = start

    async def connection_loop() -> None:
        nonlocal sent, last_done
        while sent < max_requests and time.perf_counter() < stop_at:
            sent += 1
            began = time.perf_counter()
            try:
                status = await asyncio.wait_for(_one_request(host, port, request), request_timeout_s)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as error:
                status = 0
                result.first_error = result.first_error or f"{type(error).__name__}: {error}"
            done = time.perf_counter()
            last_done = done
            if on_reply is not None:
                on_reply(done - start, (done - began) * 1e3, status)
            result.status_counts[str(status)] = result.status_counts.get(str(status), 0) + 1
            if 200 <= status < 300:
                result.ok += 1
                latencies.append((done - began) * 1e3)
            else:
                result.errors += 1

    tasks = [asyncio.ensure_future(connection_loop()) for _ in range(concurrency)]
    _, pending = await asyncio.wait(tasks, timeout=duration_s + grace_s)
    for task in pending:  # past the grace period: abandon what is still in flight, counted as errors
        task.cancel()
        result.errors += 1
    result.elapsed_s = last_done - start
    latencies.sort()
    result.p50_ms = percentile(latencies, 0.50)
    result.p99_ms = percentile(latencies, 0.99)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True, type=Path, help="file holding the request body")
    parser.add_argument("--content-type", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds to keep sending")
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--grace", type=float, default=30.0, help="seconds in-flight requests may take after")
    parser.add_argument("--request-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.max_requests < 1 or args.duration <= 0:
        parser.error("--concurrency and --max-requests must be >= 1 and --duration > 0")
    cpu_before = time.process_time()
    result = asyncio.run(
        run_load(
            args.url,
            args.body.read_bytes(),
            args.content_type,
            concurrency=args.concurrency,
            duration_s=args.duration,
            max_requests=args.max_requests,
            grace_s=args.grace,
            request_timeout_s=args.request_timeout,
        )
    )
    result.client_cpu_s = time.process_time() - cpu_before
    json.dump(asdict(result), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
