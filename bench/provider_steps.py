"""The local stack's lifecycle steps through the real provider host alone (no engine): create to
healthy, a no-op diff, an update of a model change to healthy, delete. `bench/engine_ops.py`
prints these beside the same steps through `pulumi`, so the engine's own share is visible."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from deployment.hashing import tree_sha256
from harness.provider_host import ProviderHost, local_stack_inputs

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def provider_runs(model_dir: Path, runs: int) -> dict[str, list[float]]:
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
