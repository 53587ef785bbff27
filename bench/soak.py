"""Load soak of the local target: prints figures, asserts nothing.

    .venv/bin/python -m bench.soak --model-dir artifacts/model [--concurrency 32] [--duration 60]

Deploys the model with the real `LocalBackend` (the provider's local backend: azmlinfsrv
releases behind the front door, detached processes) into a temporary state directory, drives
its scoring URI on 127.0.0.1 with a closed loop of `--concurrency` connections for `--duration`
seconds with harness/loadgen.py (each connection sends the how-to's JSON request for one image,
waits for the reply, sends the next), then deletes the deployment and checks that no process is left. Prints:

    requests, errors (any non-200 or failed connection), per 10 s window: requests, p50, p99;
    RSS of the service's processes (front door + inference server master + workers) after the
    first window and at the end, and the growth in percent; the p99 of the last window over the
    first.

Loopback only (the URI the backend reports is checked to be 127.0.0.1) and bounded: the run
stops at `--duration`, in-flight requests get `--grace` seconds, each request at most 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from deployment.local.backend import LocalBackend
from harness import loadgen
from harness.local_service import PROJECT_ROOT, local_spec
from harness.procfs import rss_kib

WINDOW_S = 10.0
REQUEST_TIMEOUT_S = 30.0


@dataclass
class Window:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    rss_kib: int = 0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return math.nan
        return float(np.percentile(self.latencies_ms, q))


def json_request(seed: int) -> bytes:
    """The how-to's request for one MNIST-like image: mostly 0, the rest floats in 0..1."""
    rng = np.random.default_rng(seed)
    pixels = np.where(rng.random(784) < 0.8, 0.0, rng.random(784))
    return json.dumps({"data": [[round(float(v), 6) for v in pixels]]}).encode()


def process_group_pids(pgids: set[int]) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[2]) in pgids:
                found.add(int(entry.name))
    return found


async def drive(
    uri: str, concurrency: int, duration_s: float, grace_s: float, pgids: set[int]
) -> list[Window]:
    if urlsplit(uri).hostname != "127.0.0.1":
        raise SystemExit(f"refusing to load {uri}: the soak drives loopback only")
    windows = [Window() for _ in range(math.ceil(duration_s / WINDOW_S))]
    started = time.monotonic()

    def on_reply(at_s: float, latency_ms: float, status: int) -> None:
        window = windows[min(int(at_s / WINDOW_S), len(windows) - 1)]
        if status == 200:
            window.latencies_ms.append(latency_ms)
        else:
            window.errors += 1

    async def sample_rss() -> None:
        for index, window in enumerate(windows):
            await asyncio.sleep(max(0.0, started + (index + 1) * WINDOW_S - 0.5 - time.monotonic()))
            window.rss_kib = rss_kib(process_group_pids(pgids))

    sampler = asyncio.create_task(sample_rss())
    result = await loadgen.run_load(
        uri,
        json_request(0),
        "application/json",
        concurrency=concurrency,
        duration_s=duration_s,
        max_requests=10**9,
        grace_s=grace_s,
        request_timeout_s=REQUEST_TIMEOUT_S,
        on_reply=on_reply,
    )
    await sampler
    if result.first_error:
        print(f"  first error: {result.first_error}")
    return windows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, default=PROJECT_ROOT / "artifacts" / "model")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--grace", type=float, default=10.0)
    parser.add_argument(
        "--workers", type=int, default=0, help="inference server workers (0: the backend's default)"
    )
    args = parser.parse_args(argv)
    if not (args.model_dir / "saved_model.pb").exists():
        parser.error(f"--model-dir: {str(args.model_dir)!r} holds no saved_model.pb (run `make model`)")

    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        state_dir = Path(scratch) / "state"
        spec = local_spec(args.model_dir, state_dir, name="soak", workers=args.workers or None)
        backend = LocalBackend(spec.local_target())
        print(f"deploying with LocalBackend ({backend.workers} workers) into {state_dir} ...", flush=True)
        created = time.monotonic()
        live = backend.create(spec, lambda message: print(f"  {message}", flush=True))
        print(f"healthy after {time.monotonic() - created:.1f} s at {live.scoring_uri}", flush=True)
        try:
            door_pid = int(live.handle["door"]["pid"])
            server_pid = int(live.handle["release"]["process"]["pid"])
            pgids = {door_pid, server_pid}
            print(f"load: {args.concurrency} connections for {args.duration:.0f} s ...", flush=True)
            windows = asyncio.run(drive(live.scoring_uri, args.concurrency, args.duration, args.grace, pgids))
            processes = len(process_group_pids(pgids))
        finally:
            backend.delete(live)
        leftovers = process_group_pids({door_pid, server_pid})
        state_left = state_dir.exists() and any(state_dir.iterdir())

    total_ok = sum(len(w.latencies_ms) for w in windows)
    total_errors = sum(w.errors for w in windows)
    print("\n== soak: local target ==")
    total = total_ok + total_errors
    print(
        f"concurrency {args.concurrency}, {args.duration:.0f} s, one-image JSON requests, {processes} procs"
    )
    print(f"requests: {total} ({total / args.duration:.0f}/s), errors: {total_errors}")
    print("window      requests  p50 ms  p99 ms  errors  RSS MiB")
    for index, window in enumerate(windows):
        p50, p99, rss_mib = window.percentile(50), window.percentile(99), window.rss_kib / 1024
        print(
            f"{index * WINDOW_S:4.0f}-{(index + 1) * WINDOW_S:<4.0f} s {len(window.latencies_ms):9d} "
            f"{p50:7.1f} {p99:7.1f} {window.errors:7d} {rss_mib:8.1f}"
        )
    first, last = windows[0], windows[-1]
    growth = (last.rss_kib - first.rss_kib) / first.rss_kib * 100 if first.rss_kib else math.nan
    first_mib, last_mib = first.rss_kib / 1024, last.rss_kib / 1024
    print(f"RSS first window {first_mib:.1f} MiB -> last {last_mib:.1f} MiB: {growth:+.2f} %")
    print(f"p99 last window / first window: {last.percentile(99) / first.percentile(99):.2f}")
    print(f"after delete: processes left {sorted(leftovers)}, state left {state_left}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
