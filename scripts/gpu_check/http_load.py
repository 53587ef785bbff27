"""Throughput through the entry script's HTTP server, and each worker's memory.

For each device mode and worker count: azmlinfsrv serving model_service/score.py with the GPU
environment's interpreter (`harness.server`, the harness the tests and the benchmarks share),
started as the local backend starts it; one request per batch size checked against the numpy
forward's digits; then harness/loadgen.py (the closed-loop load driver the benchmark also uses,
in its own process) for a fixed duration at that batch size, uint8 bodies, one connection per
worker. After the load, each worker's RSS (/proc) and GPU memory (nvidia-smi's compute apps).

    mode "gpu": SCORE_REQUIRE_GPU=true, the machine's GPUs visible (a worker without one exits)
    mode "cpu": CUDA_VISIBLE_DEVICES="" and SCORE_REQUIRE_GPU=false: the same server on the CPU

Standard library only (runs in whatever python starts the check).
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scripts.gpu_check import stats
from scripts.gpu_check.memory import gpu_memory_used_mib, server_memory

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "infra") not in sys.path:
    sys.path.append(str(ROOT / "infra"))  # `deployment` is imported top-level, as the engine does

from deployment.local.inference_server import SERVER_ENV  # noqa: E402
from harness import loadgen  # noqa: E402
from harness.server import ENTRY_SCRIPT, InferenceServer, NotHealthy  # noqa: E402

IMAGE_BYTES = 784
CONTENT_TYPE = "application/octet-stream"  # uint8 pixels (body_decoding.py)
MODES = ("gpu", "cpu")
SERVER_START_TIMEOUT_S = 300.0
LOAD_GRACE_S = 10.0
_MIB = 1024 * 1024
# scorer.py's line once a worker has loaded: "model DIR loaded on /GPU:0 (TensorFlow 2.21.0);
# forward: routed (numpy below 64 images, tensorflow from 64); warmed at batch sizes [...]"
_LOADED = re.compile(r"loaded on (\S+) \(TensorFlow [^)]*\); forward: (.+?); warmed at batch sizes")
_ROUTED = re.compile(r"^routed \((\w+) below (\d+) images, (\w+) from \d+\)$")


class LoadError(RuntimeError):
    """A server or a load run failed; the message says which and why (with the log tail)."""


@dataclass(frozen=True)
class LoadPlan:
    modes: tuple[str, ...]
    workers: tuple[int, ...]
    batches: tuple[int, ...]
    duration_s: float
    max_batch: int


def server_env(mode: str, max_batch: int) -> dict[str, str]:
    """The settings each server gets: the batch limit must admit the largest batch measured."""
    env = {"SCORE_MAX_BATCH": str(max_batch)}
    if mode == "gpu":
        env["SCORE_REQUIRE_GPU"] = "true"
    elif mode == "cpu":
        env.update({"CUDA_VISIBLE_DEVICES": "", "SCORE_REQUIRE_GPU": "false"})
    else:
        raise ValueError(f"mode: {mode!r} is not allowed (allowed: {', '.join(MODES)})")
    return env


def worker_env(mode: str, max_batch: int) -> dict[str, str]:
    """The environment of a process that should start as a worker of that mode's server does
    (the probes): the server's own variables (inference_server.SERVER_ENV) and server_env's."""
    return {**SERVER_ENV, "TF_CPP_MIN_LOG_LEVEL": "2", **server_env(mode, max_batch)}


# ------------------------------------------------------------------------------------------
# What the server and the machine say (pure parsing, tested on their text)


def parse_loaded(log_text: str) -> list[tuple[str, str]]:
    """(device, forward) from each worker's "model ... loaded on ..." line, in log order."""
    return [(match.group(1), match.group(2)) for match in _LOADED.finditer(log_text)]


def route_for(forward: str, device: str, batch: int) -> tuple[str | None, str | None]:
    """(forward, device) a batch of `batch` images runs on, from a worker's forward description;
    numpy always runs on the CPU. (None, None) for a description this does not know."""
    routed = _ROUTED.match(forward)
    if routed:
        small, min_batch, large = routed.group(1), int(routed.group(2)), routed.group(3)
        forward = large if batch >= min_batch else small
    if forward == "numpy":
        return "numpy", "/CPU:0"
    if forward == "tensorflow":
        return "tensorflow", device
    return None, None


# ------------------------------------------------------------------------------------------
# Requests and load


def score_once(url: str, body: bytes, timeout_s: float = 60.0) -> list[int]:
    """POST one uint8 body to `url` (loopback, no proxy); the digits it answered."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout_s)
    try:
        connection.request("POST", parts.path, body=body, headers={"Content-Type": CONTENT_TYPE})
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise LoadError(
            f"POST {url} with {len(body) // IMAGE_BYTES} images: {response.status} {payload[:300]!r}"
        )
    return [int(digit) for digit in json.loads(payload)]


def run_loadgen(url: str, body_path: Path, concurrency: int, duration_s: float) -> dict[str, Any]:
    """harness/loadgen.py for `duration_s` seconds, closed loop; what it measured."""
    try:
        result = loadgen.run_process(
            url,
            body_path,
            CONTENT_TYPE,
            concurrency=concurrency,
            duration_s=duration_s,
            max_requests=10_000_000,
            grace_s=LOAD_GRACE_S,
        )
    except loadgen.LoadgenError as error:
        raise LoadError(str(error)) from error
    return dataclasses.asdict(result)


def throughput_row(
    mode: str, workers: int, batch: int, load: Mapping[str, Any], route: tuple[str | None, str | None]
) -> dict[str, Any]:
    elapsed = float(load.get("elapsed_s") or 0.0)
    ok = int(load.get("ok") or 0)
    p50, p99 = load.get("p50_ms"), load.get("p99_ms")
    return {
        "mode": mode,
        "workers": workers,
        "batch": batch,
        "concurrency": workers,
        "forward": route[0],
        "device": route[1],
        "requests": ok,
        "errors": int(load.get("errors") or 0),
        "elapsed_s": round(elapsed, 3),
        "images_per_s": _round(stats.images_per_s(ok, batch, elapsed), 1),
        "requests_per_s": _round(stats.images_per_s(ok, 1, elapsed), 1),
        "p50_ms": _round(_finite(p50), 3),
        "p99_ms": _round(_finite(p99), 3),
        "client_cpu_s": _round(load.get("client_cpu_s"), 3),
        "first_error": load.get("first_error") or None,
    }


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value == value else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


# ------------------------------------------------------------------------------------------
# One server, then the whole plan


def measure_server(
    python: Path,
    model_dir: Path,
    mode: str,
    workers: int,
    plan: LoadPlan,
    body: bytes,
    expected: Sequence[int],
    work_dir: Path,
    progress: Callable[[str], None],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Throughput rows for each batch size, and the server's memory record."""
    log_path = work_dir / "logs" / f"azmlinfsrv-{mode}-{workers}w.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.unlink(missing_ok=True)
    server = InferenceServer(
        ENTRY_SCRIPT,
        model_dir,
        workers=workers,
        env=server_env(mode, plan.max_batch),
        python=python,
        log_path=log_path,
    )
    gpu_before = gpu_memory_used_mib()
    began = time.monotonic()
    try:
        try:
            server.start(SERVER_START_TIMEOUT_S)
        except NotHealthy as error:
            raise LoadError(f"azmlinfsrv ({mode}, {workers} workers) did not start: {error}") from error
        start_s = time.monotonic() - began
        assert server.process is not None
        loaded = parse_loaded(server.logs())
        device, forward = loaded[0] if loaded else ("unknown", "unknown")
        rows = []
        for batch in plan.batches:
            payload = body[: batch * IMAGE_BYTES]
            if len(payload) != batch * IMAGE_BYTES:
                raise LoadError(f"the body file holds {len(body) // IMAGE_BYTES} images, fewer than {batch}")
            answered = score_once(server.score_url, payload)
            body_path = work_dir / f"body-{batch}.u8"
            body_path.write_bytes(payload)
            load = run_loadgen(server.score_url, body_path, workers, plan.duration_s)
            row = throughput_row(mode, workers, batch, load, route_for(forward, device, batch))
            row["http_digits_equal_numpy"] = answered == list(expected[:batch])
            rows.append(row)
            progress(
                f"{mode} {workers}w batch {batch}: {row['images_per_s']} images/s, "
                f"p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms"
            )
        memory = server_memory(server.process.pid, gpu_before)
        memory.update(
            {
                "mode": mode,
                "workers": workers,
                "start_s": round(start_s, 2),
                "loaded": [{"device": d, "forward": f} for d, f in loaded],
                "log": str(log_path),
            }
        )
        return rows, memory
    finally:
        server.close()


def measure(
    python: Path,
    model_dir: Path,
    plan: LoadPlan,
    body: bytes,
    expected: Sequence[int],
    work_dir: Path,
    progress: Callable[[str], None],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(throughput rows, per-server memory records) for every mode × worker count of `plan`."""
    rows: list[dict[str, Any]] = []
    servers: list[dict[str, Any]] = []
    for mode in plan.modes:
        for workers in plan.workers:
            server_rows, memory = measure_server(
                python, model_dir, mode, workers, plan, body, expected, work_dir, progress
            )
            rows += server_rows
            servers.append(memory)
    return rows, servers
