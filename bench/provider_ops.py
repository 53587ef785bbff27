"""ModelDeployment provider timings through the real provider host (python -m pulumi.dynamic).

    .venv/bin/python bench/provider_ops.py [--model-dir artifacts/model] [--diffs 200] [--creates 3]

Prints, and writes to bench/results/provider_ops.json:
  - a no-op Diff (identical inputs, the engine's call on every `pulumi preview`/`up` of an
    unchanged stack): first call (unpickles the provider) and the steady-state median/p95.
    Goal: <= 50 ms.
  - local Create until healthy (the model laid out, azmlinfsrv started, TensorFlow loaded, the
    health probe answering on the scoring URI), then Delete, and where the seconds went, from
    the release's log: interpreter and azmlinfsrv start to gunicorn up, worker boot to the entry
    script's init(), init() (TensorFlow import, model load, warm-up), the rest (snapshot, health
    polling). Goal: <= 5 s median.
  - a local Update (a changed model) while a client scores one image at a time through the
    scoring URI: the update's wall time, failed requests (goal 0), and the latency the switch
    added: the slowest request during the update over the p99 before it (goal <= 50 ms).
The inputs come from the local stack's program evaluated under mocks, as in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "infra")]

from deployment.hashing import tree_sha256  # noqa: E402
from harness.local_service import ScoringClient  # noqa: E402
from harness.provider_host import ProviderHost, local_stack_inputs  # noqa: E402

RESULTS = PROJECT_ROOT / "bench" / "results" / "provider_ops.json"
# azmlinfsrv's log lines that mark the stages of a cold start (the first worker to get there).
STAGES = (
    ("gunicorn up", "Starting gunicorn"),
    ("worker booted", "Booting worker"),
    ("init() started", "Invoking user's init function"),
    ("init() done", "init has completed successfully"),
)
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def stages(log_path: Path, started_wall: float) -> dict[str, float]:
    """Seconds from the create call to the first log line of each stage."""
    found: dict[str, float] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        stamp = _STAMP.match(line)
        for name, marker in STAGES:
            if stamp and marker in line and name not in found:
                when = datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                found[name] = round(when - started_wall, 2)
    return found


def measure_update(host: ProviderHost, checked: dict, changed: dict) -> dict[str, float | int]:
    """Create, then update to `changed` under a scoring client; the update's figures."""
    id_, outs = host.create(checked)
    try:
        with ScoringClient(outs["scoring_uri"]) as client:
            time.sleep(3.0)
            began = time.monotonic()
            outs = host.update(id_, outs, host.check(changed).inputs)
            ended = time.monotonic()
            time.sleep(1.0)
    finally:
        host.delete(id_, outs)
    before = sorted(client.between(0.0, began))
    during = client.between(began, ended)
    p99_before = before[min(len(before) - 1, round(0.99 * (len(before) - 1)))]
    return {
        "update_s": round(ended - began, 2),
        "update_requests": len(during),
        "update_failed_requests": len(client.failures),
        "p99_before_ms": round(1000 * p99_before, 1),
        "slowest_during_update_ms": round(1000 * max(during, default=0.0), 1),
        "switch_added_ms": round(1000 * max(0.0, max(during, default=0.0) - p99_before), 1),
    }


def provider_runs(model_dir: Path, runs: int) -> dict[str, list[float]]:
    """The local stack's lifecycle steps through the provider host alone (no engine): create to
    healthy, a no-op diff, an update of a model change to healthy, delete; bench/engine_ops.py
    prints them beside the same steps through `pulumi`."""
    figures: dict[str, list[float]] = {
        "create (up of a new stack)": [],
        "diff, unchanged": [],
        "update of a model change, to healthy": [],
        "delete": [],
    }
    with tempfile.TemporaryDirectory(prefix="provider-steps-") as scratch:
        root = Path(scratch)
        model = root / "model"
        shutil.copytree(model_dir, model)
        inputs = local_stack_inputs(
            {"model": {"dir": str(model)}, "local": {"stateDir": str(root / "state")}}
        )
        with ProviderHost.start() as host:
            host.configure()
            for run in range(runs):
                old = host.check(inputs).inputs
                started = time.perf_counter()
                id_, outs = host.create(old)
                figures["create (up of a new stack)"].append(time.perf_counter() - started)

                started = time.perf_counter()
                host.diff(id_, outs, old)
                figures["diff, unchanged"].append(time.perf_counter() - started)

                (model / "assets" / "bench-change.txt").write_text(f"change {run}\n")
                inputs = {**inputs, "model_hash": tree_sha256(model)}  # the next run starts from it
                new = host.check(inputs).inputs
                started = time.perf_counter()
                outs = host.update(id_, outs, new)
                figures["update of a model change, to healthy"].append(time.perf_counter() - started)

                started = time.perf_counter()
                host.delete(id_, outs)
                figures["delete"].append(time.perf_counter() - started)
    return figures


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=PROJECT_ROOT / "artifacts" / "model")
    parser.add_argument("--diffs", type=int, default=200)
    parser.add_argument("--creates", type=int, default=3)
    args = parser.parse_args()
    if not (args.model_dir / "saved_model.pb").exists():
        print(f"no trained model in {args.model_dir}: run `make model` first", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="provider-ops-") as scratch:
        state_dir = Path(scratch) / "state"
        model_dir = Path(scratch) / "model"
        shutil.copytree(args.model_dir, model_dir)
        # A snapshot of model_service/: the working tree may change while the bench runs.
        source_dir = Path(scratch) / "source" / "model_service"
        shutil.copytree(
            PROJECT_ROOT / "model_service", source_dir, ignore=shutil.ignore_patterns("__pycache__")
        )
        inputs = local_stack_inputs({"model": {"dir": str(model_dir)}, "local": {"stateDir": str(state_dir)}})
        inputs.update(source_dir=str(source_dir), source_hash=tree_sha256(source_dir))

        with ProviderHost.start() as host:
            host.configure()
            checked = host.check(inputs).inputs
            started = time.perf_counter()
            assert host.diff("bench", checked, checked).changes == "none"
            first_ms = (time.perf_counter() - started) * 1000
            diff_ms = []
            for _ in range(args.diffs):
                started = time.perf_counter()
                host.diff("bench", checked, checked)
                diff_ms.append((time.perf_counter() - started) * 1000)

            create_s = []
            create_stages = []
            for _ in range(args.creates):
                started, started_wall = time.perf_counter(), time.time()
                id_, outs = host.create(checked)
                create_s.append(time.perf_counter() - started)
                log = Path(outs["live"]["handle"]["release"]["directory"]) / "server.log"
                create_stages.append(stages(log, started_wall))
                host.delete(id_, outs)

            changed_model = Path(scratch) / "model-b"
            shutil.copytree(model_dir, changed_model)
            (changed_model / "metadata.json").write_text((model_dir / "metadata.json").read_text() + "\n")
            changed = local_stack_inputs(
                {"model": {"dir": str(changed_model)}, "local": {"stateDir": str(state_dir)}}
            )
            changed.update(source_dir=str(source_dir), source_hash=tree_sha256(source_dir))
            update = measure_update(host, checked, changed)

    figures = {
        "noop_diff_first_ms": round(first_ms, 2),
        "noop_diff_median_ms": round(statistics.median(diff_ms), 2),
        "noop_diff_p95_ms": round(_percentile(diff_ms, 0.95), 2),
        "noop_diffs": args.diffs,
        "local_create_to_healthy_s": [round(s, 2) for s in create_s],
        "local_create_to_healthy_median_s": round(statistics.median(create_s), 2),
        "local_create_stages_s": create_stages,
        **update,
        "cpu_count": os.cpu_count(),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }
    print(
        f"no-op diff (real provider host, gRPC round trip): first {figures['noop_diff_first_ms']} ms, "
        f"median {figures['noop_diff_median_ms']} ms, p95 {figures['noop_diff_p95_ms']} ms "
        f"over {args.diffs} (goal <= 50 ms)"
    )
    print(
        f"local create to healthy: median {figures['local_create_to_healthy_median_s']} s, "
        f"runs {figures['local_create_to_healthy_s']} (goal <= 5 s)"
    )
    for run, found in enumerate(create_stages, 1):
        print(f"  create {run}: " + ", ".join(f"{name} at {seconds} s" for name, seconds in found.items()))
    print(
        f"local update (new model) under a one-at-a-time client: {update['update_s']} s, "
        f"{update['update_requests']} requests during it, {update['update_failed_requests']} failed "
        f"(goal 0); slowest {update['slowest_during_update_ms']} ms vs p99 before "
        f"{update['p99_before_ms']} ms: the switch added {update['switch_added_ms']} ms (goal <= 50 ms)"
    )
    print(f"machine: {os.cpu_count()} cores, 1-minute load average {figures['load_average_1m_after']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
