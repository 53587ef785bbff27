"""Wall time of evaluating the dev stack's program under mocks (goal: ≤ 3 s).

    .venv/bin/python bench/program_eval.py [--runs N]

Prints, from one process: the imports the program needs (paid once by every `pulumi preview`),
the first evaluation (wall and CPU time: other processes inflate wall time), the median of N
more, and the median with pulumi-azure-native's API-version aliases kept (infra/aliases.py drops
them), so the ratio shows what they cost.
Writes the figures to bench/results/program_eval.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_ROOT), str(PROJECT_ROOT / "infra")]


def _timed(run: callable) -> float:  # type: ignore[valid-type]
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="warm evaluations per variant (default 5)")
    args = parser.parse_args()

    start, cpu_start = time.perf_counter(), time.process_time()
    # The modules the program imports. azure-native and kubernetes load a package's modules on
    # first attribute access, so touch the classes the program uses to pay that here too.
    import pulumi_azure_native as azure_native
    import pulumi_kubernetes as k8s

    import deployment.resource  # noqa: F401
    import v1.gpu_cluster as gpu_cluster
    import workspace
    from harness.program import run_program, stack_config

    for module, name in (
        ("applicationinsights", "Component"),
        ("authorization", "get_client_config_output"),
        ("containerregistry", "Registry"),
        ("containerservice", "ManagedCluster"),
        ("keyvault", "Vault"),
        ("machinelearningservices", "Compute"),
        ("operationalinsights", "Workspace"),
        ("resources", "ResourceGroup"),
        ("storage", "StorageAccount"),
    ):
        getattr(getattr(azure_native, module), name)
    k8s.apps.v1.DaemonSet  # noqa: B018

    imports = time.perf_counter() - start
    start, cpu_start = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as model_dir:
        (Path(model_dir) / "saved_model.pb").write_bytes(b"bench")  # hashed at construction only
        config = stack_config("dev")
        config["aml-gpu-inference:model"] = {"dir": model_dir}
        resources = len(run_program(config, stack="dev").registrations)
        first, first_cpu = time.perf_counter() - start, time.process_time() - cpu_start
        warm = [_timed(lambda: run_program(config, stack="dev")) for _ in range(args.runs)]

        def keep(_args: object) -> None:
            return None

        workspace.drop_api_version_aliases = keep  # type: ignore[assignment]
        gpu_cluster.drop_api_version_aliases = keep  # type: ignore[assignment]
        with_aliases = [_timed(lambda: run_program(config, stack="dev")) for _ in range(args.runs)]

    figures = {
        "resources": resources,
        "imports_s": round(imports, 3),
        "first_s": round(first, 3),
        "first_cpu_s": round(first_cpu, 3),
        "warm_median_s": round(statistics.median(warm), 3),
        "with_api_version_aliases_median_s": round(statistics.median(with_aliases), 3),
        "runs": args.runs,
        "goal_s": 3.0,
    }
    ratio = figures["with_api_version_aliases_median_s"] / max(figures["warm_median_s"], 1e-9)
    print(f"dev stack under mocks: {resources} resources")
    print(f"  imports (pulumi, azure-native, kubernetes, deployment): {figures['imports_s']:.2f} s")
    print(f"  first evaluation:  {figures['first_s']:.2f} s wall, {first_cpu:.2f} s CPU   goal ≤ 3 s")
    print(f"  warm evaluation, median of {args.runs}:  {figures['warm_median_s']:.2f} s")
    print(
        f"  with azure-native's API-version aliases: {figures['with_api_version_aliases_median_s']:.2f} s "
        f"({ratio:.1f}× the warm time)"
    )
    results = PROJECT_ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "program_eval.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
