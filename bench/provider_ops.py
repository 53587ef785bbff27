"""ModelDeployment provider timings through the real provider host (python -m pulumi.dynamic).

    .venv/bin/python bench/provider_ops.py [--model-dir artifacts/model] [--diffs 200] [--creates 3]

Prints, and writes to bench/results/provider_ops.json:
  - a no-op Diff (identical inputs, the engine's call on every `pulumi preview`/`up` of an
    unchanged stack): first call (unpickles the provider) and the steady-state median/p95.
    Goal: <= 50 ms.
  - local Create until healthy (the model laid out, azmlinfsrv started, TensorFlow loaded, the
    health probe answering through the front door), then Delete. Goal: <= 10 s.
The inputs come from the local stack's program evaluated under mocks, as in the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "infra"), str(PROJECT_ROOT / "tests")]

from deployment.hashing import tree_sha256  # noqa: E402
from provider_host import ProviderHost, local_stack_inputs  # noqa: E402

RESULTS = PROJECT_ROOT / "bench" / "results" / "provider_ops.json"


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
            for _ in range(args.creates):
                started = time.perf_counter()
                id_, outs = host.create(checked)
                create_s.append(time.perf_counter() - started)
                host.delete(id_, outs)

    figures = {
        "noop_diff_first_ms": round(first_ms, 2),
        "noop_diff_median_ms": round(statistics.median(diff_ms), 2),
        "noop_diff_p95_ms": round(_percentile(diff_ms, 0.95), 2),
        "noop_diffs": args.diffs,
        "local_create_to_healthy_s": [round(s, 2) for s in create_s],
        "local_create_to_healthy_median_s": round(statistics.median(create_s), 2),
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
        f"runs {figures['local_create_to_healthy_s']} (goal <= 10 s)"
    )
    print(f"machine: {os.cpu_count()} cores, 1-minute load average {figures['load_average_1m_after']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
