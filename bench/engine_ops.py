"""Wall time of the local stack's lifecycle through the real Pulumi engine.

    .venv/bin/python bench/engine_ops.py [--runs 3]

On a throwaway copy of the project (scripts/sandbox_project.py), with the CLI `make pulumi-cli`
builds: `pulumi preview` of an unchanged stack, `pulumi up` with no changes, `pulumi up` of a
model change until the new release is healthy, and `pulumi destroy`; then the same create,
no-op diff, update and delete through the provider host alone (bench/provider_ops.py `provider_runs`), so the
engine's own share is visible. Prints a table and writes bench/results/engine_ops.json; the
figures are reported in docs/engine.md. Goal: an unchanged preview <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "infra")]

from scripts.pulumi_cli import BUILT_CLI, cli_version  # noqa: E402
from scripts.sandbox_project import SandboxProject  # noqa: E402

RESULTS = PROJECT_ROOT / "bench" / "results" / "engine_ops.json"
PREVIEW_GOAL_S = 5.0


def timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def engine_runs(project: SandboxProject, runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {
        "create (up of a new stack)": [],
        "preview, unchanged": [],
        "up, no changes": [],
        "up of a model change, to healthy": [],
        "destroy": [],
    }
    for run in range(runs):
        figures["create (up of a new stack)"].append(timed(lambda: project.pulumi("up", "--yes")))
        figures["preview, unchanged"].append(timed(lambda: project.pulumi("preview", "--expect-no-changes")))
        figures["up, no changes"].append(timed(lambda: project.pulumi("up", "--yes")))
        (project.model_dir / "assets" / "bench-change.txt").write_text(f"change {run}\n")
        figures["up of a model change, to healthy"].append(timed(lambda: project.pulumi("up", "--yes")))
        figures["destroy"].append(timed(lambda: project.pulumi("destroy", "--yes")))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model-dir", type=Path, default=PROJECT_ROOT / "artifacts" / "model")
    args = parser.parse_args()
    if not (args.model_dir / "metadata.json").exists():
        print(f"no trained model in {args.model_dir}: run `make model`", file=sys.stderr)
        return 2
    version = cli_version(BUILT_CLI) if BUILT_CLI.exists() else None
    if not version:
        print(f"{BUILT_CLI} is missing: run `make pulumi-cli`", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp:
        project = SandboxProject.create(Path(tmp) / "project", BUILT_CLI, args.model_dir)
        project.init_stack()
        try:
            engine = engine_runs(project, args.runs)
        finally:
            project.pulumi("destroy", "--yes", check=False)

    from bench.provider_ops import provider_runs  # the provider host alone, same model

    provider = provider_runs(args.model_dir, args.runs)

    print(f"pulumi {version}, {args.runs} runs each, median (min-max) seconds")
    rows = {"engine": engine, "provider host": provider}
    for layer, figures in rows.items():
        for step, values in figures.items():
            print(
                f"  {layer:14} {step:36} {statistics.median(values):7.2f} "
                f"({min(values):.2f}-{max(values):.2f})"
            )
    preview = statistics.median(engine["preview, unchanged"])
    verdict = "met" if preview <= PREVIEW_GOAL_S else "MISSED"
    print(f"unchanged preview: {preview:.2f} s (goal <= {PREVIEW_GOAL_S:.0f} s: {verdict})")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"cli": version, "runs": args.runs, **rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
