"""The limits the served variants are compared with, each measured alone on one core.

    python -m bench.limits --model-dir DIR [--seconds S]   (prints one JSON object)

- parse: orjson of a 256-image how-to JSON body into a float32 array (the targets' JSON parse
  limit), our scorer's own decoder (model_service/json_decoding.py `decode_json`: simdjson fast
  path plus checks) and, for reference, the how-to's json.loads + np.array;
- decode: a 256-image uint8 body into float32 in 0..1 (the binary path's parse);
- forward: the exported model's `serve` endpoint (float32 [n, 784] -> logits) plus argmax in one
  tf.function, and the same model as numpy matrix products (model_service/dense_forward.py, what
  the scorer runs on a CPU), each at batch 256 and batch 1,
  TensorFlow and BLAS limited to one thread, so the figures are images/s per core.

Run in its own process so TensorFlow's thread settings apply before it initialises, and so the
benchmark's driver process never loads TensorFlow.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson
import threadpoolctl

from bench.payloads import BODY_FORMATS, digit_images
from model_service import score  # noqa: F401  (puts the scoring modules' directory on sys.path)

# The scoring modules, by the plain names the entry script imports them under.
dense_forward = importlib.import_module("dense_forward")
json_decoding = importlib.import_module("json_decoding")

BATCH = 256


def median_seconds(call: Callable[[], object], budget_s: float, min_calls: int = 5) -> float:
    """Median wall time of `call`, repeated for about `budget_s` seconds (at least min_calls times)."""
    call()  # warm caches and lazy initialisation
    times: list[float] = []
    stop_at = time.perf_counter() + budget_s
    while len(times) < min_calls or time.perf_counter() < stop_at:
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def parse_limits(budget_s: float) -> dict[str, float]:
    pixels = digit_images(BATCH)
    json_body = BODY_FORMATS["json"].encode(pixels)
    uint8_body = BODY_FORMATS["uint8"].encode(pixels)
    orjson_s = median_seconds(lambda: np.asarray(orjson.loads(json_body)["data"], dtype=np.float32), budget_s)
    ours_s = median_seconds(lambda: json_decoding.decode_json(json_body, BATCH), budget_s)
    howto_s = median_seconds(lambda: np.array(json.loads(json_body)["data"]), budget_s)
    decode_s = median_seconds(
        lambda: np.frombuffer(uint8_body, dtype=np.uint8).reshape(BATCH, -1).astype(np.float32) / 255.0,
        budget_s,
    )
    return {
        "json_body_bytes": len(json_body),
        "parse_orjson_ms": orjson_s * 1e3,
        "parse_orjson_images_per_s": BATCH / orjson_s,
        "parse_ours_ms": ours_s * 1e3,
        "parse_ours_images_per_s": BATCH / ours_s,
        "parse_howto_ms": howto_s * 1e3,
        "decode_uint8_ms": decode_s * 1e3,
    }


def forward_limits(model_dir: Path, budget_s: float) -> dict[str, float]:
    import tensorflow as tf  # imported late: thread settings must precede its initialisation

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    loaded = tf.saved_model.load(str(model_dir))  # kept referenced: `serve` uses its variables

    @tf.function(input_signature=[tf.TensorSpec([None, 784], tf.float32)])
    def predict_digits(pixels: tf.Tensor) -> tf.Tensor:
        return tf.argmax(loaded.serve(pixels), axis=1)

    pixels = (digit_images(BATCH) / np.float32(255.0)).astype(np.float32)
    batch_s = median_seconds(lambda: predict_digits(pixels).numpy(), budget_s)
    single_s = median_seconds(lambda: predict_digits(pixels[:1]).numpy(), budget_s)
    threadpoolctl.threadpool_limits(1, user_api="blas")
    stack = dense_forward.DenseStack.from_variables(loaded.variables)
    numpy_batch_s = median_seconds(lambda: stack.digits(pixels), budget_s)
    numpy_single_s = median_seconds(lambda: stack.digits(pixels[:1]), budget_s)
    return {
        "forward_batch256_ms": batch_s * 1e3,
        "forward_images_per_s_per_core": BATCH / batch_s,
        "forward_batch1_ms": single_s * 1e3,
        "forward_numpy_batch256_ms": numpy_batch_s * 1e3,
        "forward_numpy_images_per_s_per_core": BATCH / numpy_batch_s,
        "forward_numpy_batch1_ms": numpy_single_s * 1e3,
    }


def saved_model_dir(root: Path) -> Path:
    """The directory holding saved_model.pb: `root` itself or the first one below it."""
    found = sorted(root.rglob("saved_model.pb"))
    if not found:
        raise FileNotFoundError(f"--model-dir {root}: no saved_model.pb in it or below it")
    return found[0].parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per measurement")
    args = parser.parse_args(argv)
    figures = {**parse_limits(args.seconds), **forward_limits(saved_model_dir(args.model_dir), args.seconds)}
    sys.stdout.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
