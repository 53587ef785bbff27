"""A worker's cold start, split into its steps, in a fresh process of the GPU environment:

    .venv-gpu/bin/python -m scripts.gpu_check.cold_start --model-dir DIR --out FILE

The steps are `Scorer.load()`'s (scorer.py), in its order, each timed on its own: importing the
scoring modules (numpy, orjson, threadpoolctl: what loading score.py costs), `import tensorflow`,
device listing (`configure_devices`: tf.config.list_physical_devices, which loads the CUDA
libraries, and memory growth), the device report (nvidia-smi), the SavedModel load, and the
warm-up at the sizes a server with SCORE_MAX_BATCH=--max-batch warms. The caller gives it the
server's environment (TF_USE_LEGACY_KERAS=1, CUDA_VISIBLE_DEVICES), so the figures are a worker's.
Writes one JSON object to --out; exit status 0, or 4 with the error in the JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

SOURCE_DIR = Path(__file__).resolve().parents[2] / "model_service"


def measure(model_dir: Path, max_batch: int) -> dict[str, Any]:
    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = round(now - clock, 4)
        clock = now

    if str(SOURCE_DIR) not in sys.path:
        sys.path.append(str(SOURCE_DIR))  # as score.py does
    import scorer
    from device_setup import GPU_DEVICE, configure_devices, configure_threads, device_report
    from model_forward import RoutedForward, find_model_dir, load_forward
    from scoring_settings import ScorerRuntimeSettings

    lap("import_scoring_modules_s")
    import tensorflow as tf

    lap("import_tensorflow_s")
    settings = ScorerRuntimeSettings(model_root=model_dir, max_batch=max_batch)
    configure_threads(tf.config, settings.tf_threads)
    device = configure_devices(tf.config)
    lap("list_devices_s")
    device_report(tf, device)
    lap("device_report_s")
    # The forward Scorer.load() picks with SCORE_FORWARD=auto: routed on a GPU, numpy on a CPU.
    on_gpu = device == GPU_DEVICE
    forward = load_forward(
        tf,
        find_model_dir(settings.model_root),
        device,
        allow_numpy=not on_gpu,
        route_from=settings.gpu_min_batch if on_gpu else None,
    )
    lap("model_load_s")
    warmed = scorer.warm_up(forward, settings.warmup_sizes, settings.max_batch)
    lap("warm_up_s")
    return {
        **steps,
        "total_s": round(sum(steps.values()), 4),
        "device": device,
        "forward": forward.describe() if isinstance(forward, RoutedForward) else forward.name,
        "warmed_batches": list(warmed),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-batch", type=int, default=4096)
    args = parser.parse_args(argv)
    try:
        code, out = 0, measure(args.model_dir, args.max_batch)
    except Exception as error:  # reported in the JSON: the check names the step that failed
        message = f"{type(error).__name__}: {error}"
        code, out = (
            4,
            {
                "error": {
                    "stage": "cold_start",
                    "message": message,
                    "traceback": traceback.format_exc(limit=8),
                }
            },
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
