"""The in-process half of the GPU check, run with the GPU environment's interpreter:

    .venv-gpu/bin/python -m scripts.gpu_check.forward_probe --model-dir DIR --out FILE [--require-gpu]

loads the model as a worker does (`Scorer.load()`, SCORE_MAX_BATCH=--max-batch) and writes one
JSON object to --out: the device report; the installed CUDA/cuDNN wheels; the forward and device
each batch size is routed to; the TensorFlow forward's predictions against the numpy forward's
on 10,000 images; both forwards timed per batch size, and the threshold from those timings.
With --bodies-dir it also writes the request body the HTTP phase sends (uint8 images) and the
digits the numpy forward gives them.

Exit status: 0 measured; 5 --require-gpu and TensorFlow sees no GPU (the JSON says what is
missing); 4 anything else failed (the JSON holds the error).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any

from scripts.gpu_check import stats

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = ROOT / "model_service"
# The wheels whose versions decide whether TensorFlow can use the GPU, and the service's own.
PACKAGES = (
    "tensorflow",
    "nvidia-cuda-runtime-cu12",
    "nvidia-cudnn-cu12",
    "nvidia-cublas-cu12",
    "numpy",
    "azureml-inference-server-http",
)
EXIT_GPU_UNUSABLE = 5
EXIT_FAILED = 4
BODY_FILE = "images.u8"
DIGITS_FILE = "digits.json"
_MIN_REPS = 5
_MAX_REPS = 2000


def installed_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def check_images(count: int) -> tuple[Any, Any]:
    """`count` uint8 [count, 784] images and their labels: scikit-learn's digits (the only set a
    machine without network has), each randomly shifted, rotated, scaled and noised
    (model_tools/augment.py), so 10,000 images are 10,000 different inputs."""
    from model_tools import augment, mnist

    dataset = augment.augmented(mnist.load_digits_as_mnist(), count, seed=0)
    return dataset.images.reshape(count, -1), dataset.labels


def compare_forwards(
    reference: Any, compared: Any, serve: Any, tf: Any, device: str, images: Any, labels: Any, batch: int
) -> dict[str, Any]:
    """Digits of `compared` (TensorFlow) against `reference` (numpy) on `images` in batches of at
    most `batch` (the largest request), for uint8 and float32 input; the largest logit difference."""
    import numpy as np

    result: dict[str, Any] = {"images": len(images), "batch": batch}
    worst = 0.0
    equal = True
    for name, inputs in (("uint8", images), ("float32", images.astype(np.float32) / np.float32(255.0))):
        ours = np.concatenate([reference.digits(inputs[i : i + batch]) for i in range(0, len(inputs), batch)])
        theirs = np.concatenate(
            [compared.digits(inputs[i : i + batch]) for i in range(0, len(inputs), batch)]
        )
        differ = np.flatnonzero(ours != theirs)
        equal = equal and differ.size == 0
        result[name] = {
            "equal": bool(differ.size == 0),
            "mismatches": int(differ.size),
            "first_mismatches": [int(i) for i in differ[:10]],
            "numpy_accuracy": round(float(np.mean(ours == labels)), 6),
            "tensorflow_accuracy": round(float(np.mean(theirs == labels)), 6),
        }
        if name == "float32":
            for start in range(0, len(inputs), batch):
                chunk = inputs[start : start + batch]
                with tf.device(device):
                    logits = serve(tf.constant(chunk)).numpy()
                worst = max(worst, float(np.max(np.abs(logits - reference.logits(chunk)))))
    result["equal"] = equal
    result["max_abs_logit_diff"] = worst
    return result


def time_forwards(
    numpy_forward: Any, tf_forward: Any, images: Any, sizes: list[int], budget_s: float
) -> list[dict[str, Any]]:
    """Per batch size, the median milliseconds of one call of each forward on uint8 images (what
    the HTTP body decodes to), calls alternating so drift hits both; each warmed first."""
    rows = []
    for size in sizes:
        batch = images[:size]
        numpy_forward.digits(batch)
        tf_forward.digits(batch)
        times: dict[str, list[float]] = {"numpy": [], "tensorflow": []}
        began = time.perf_counter()
        while len(times["numpy"]) < _MAX_REPS and (
            len(times["numpy"]) < _MIN_REPS or time.perf_counter() - began < budget_s
        ):
            for name, forward in (("numpy", numpy_forward), ("tensorflow", tf_forward)):
                start = time.perf_counter()
                forward.digits(batch)
                times[name].append((time.perf_counter() - start) * 1e3)
        rows.append(
            {
                "batch": size,
                "numpy_ms": _ms(stats.median(times["numpy"])),
                "tensorflow_ms": _ms(stats.median(times["tensorflow"])),
                "reps": len(times["numpy"]),
            }
        )
    return rows


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def probe(args: argparse.Namespace) -> tuple[int, dict[str, Any]]:
    if str(SOURCE_DIR) not in sys.path:
        sys.path.append(str(SOURCE_DIR))  # the scoring modules, by their plain names, as score.py does
    import numpy as np
    import tensorflow as tf
    from device_setup import device_report
    from model_forward import RoutedForward, load_forward
    from scorer import Scorer
    from scoring_errors import DeviceError
    from scoring_settings import ScorerRuntimeSettings

    out: dict[str, Any] = {"packages": installed_versions()}
    settings = ScorerRuntimeSettings(
        model_root=args.model_dir, max_batch=args.max_batch, require_gpu=args.require_gpu
    )
    scorer = Scorer(settings)
    try:
        scorer.load()
    except DeviceError as error:
        out["device_report"] = device_report(tf, "/CPU:0").to_dict()
        out["error"] = {"stage": "forward_probe", "kind": "gpu_unusable", "message": str(error)}
        return EXIT_GPU_UNUSABLE, out
    device = str(scorer.device)
    out["device_report"] = scorer.device_report.to_dict() if scorer.device_report else None
    forward = scorer.forward
    out["scorer"] = {
        "device": device,
        "forward": forward.describe() if isinstance(forward, RoutedForward) else scorer.forward_name,
        "gpu_min_batch": settings.gpu_min_batch,
        "max_batch": settings.max_batch,
        "warmed_batches": list(scorer.warmed_batches),
    }
    out["routes"] = [
        {
            "batch": n,
            "forward": (route := scorer.route(n)),
            "device": "/CPU:0" if route == "numpy" else device,
        }
        for n in args.route_batches
    ]
    images, labels = check_images(args.images)
    if args.bodies_dir is not None:
        args.bodies_dir.mkdir(parents=True, exist_ok=True)
        body = np.ascontiguousarray(images[: args.max_batch])
        (args.bodies_dir / BODY_FILE).write_bytes(body.tobytes())
    # Both forwards on the scorer's device, whatever the service would route: the numpy one is the
    # reference the TensorFlow one must agree with, and the timings compare the two.
    both = load_forward(tf, scorer.model_dir, device, allow_numpy=False, route_from=1)
    if not isinstance(both, RoutedForward):
        why = "the numpy forward does not reproduce TensorFlow's logits for this model (see the log)"
        out["equality"] = {"equal": None, "reason": why}
        out["threshold"] = {"batch": None, "reason": why, "measured_on": device, "timings": []}
        return 0, out
    numpy_forward, tf_forward = both.small, both.large
    if args.bodies_dir is not None:
        digits = numpy_forward.digits(images[: args.max_batch])
        (args.bodies_dir / DIGITS_FILE).write_text(json.dumps([int(d) for d in digits]))
    model = tf.saved_model.load(str(scorer.model_dir))  # held: `serve` needs its variables alive
    serve = model.serve
    out["equality"] = {
        "reference": "numpy (dense_forward.py)",
        "compared": f"tensorflow on {device}",
        "source": f"{args.images} augmented scikit-learn digits (model_tools/augment.py, seed 0)",
        **compare_forwards(numpy_forward, tf_forward, serve, tf, device, images, labels, args.max_batch),
    }
    timings = time_forwards(numpy_forward, tf_forward, images, args.timing_batches, args.timing_budget_s)
    batch, how = stats.measured_threshold(
        {row["batch"]: row["numpy_ms"] for row in timings},
        {row["batch"]: row["tensorflow_ms"] for row in timings},
    )
    out["threshold"] = {
        "batch": batch,
        "reason": how,
        "measured_on": device,
        "setting": "SCORE_GPU_MIN_BATCH",
        "setting_default": settings.gpu_min_batch,
        "timing_budget_s_per_batch": args.timing_budget_s,
        "input": "uint8 [n, 784], one call of each forward in turn, median",
        "timings": timings,
    }
    return 0, out


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--require-gpu", action="store_true")
    parser.add_argument("--max-batch", type=int, default=4096)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--route-batches", type=_sizes, default=[1, 8, 64, 256, 1024, 4096])
    parser.add_argument("--timing-batches", type=_sizes, default=[2**k for k in range(13)])
    parser.add_argument("--timing-budget-s", type=float, default=0.3)
    parser.add_argument("--bodies-dir", type=Path)
    args = parser.parse_args(argv)
    try:
        code, out = probe(args)
    except Exception as error:  # reported in the JSON, so the check says which step failed and why
        code, out = (
            EXIT_FAILED,
            {
                "error": {
                    "stage": "forward_probe",
                    "message": f"{type(error).__name__}: {error}",
                    "traceback": traceback.format_exc(limit=8),
                }
            },
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
