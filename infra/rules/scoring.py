"""The scoring service's own settings: the entry script's SCORE_* variables and azmlinfsrv's workers.

The entry script (model_service/scoring_settings.py) reads the SCORE_* variables from its
environment with these defaults and ranges. It cannot import this package (Azure ML uploads
model_service/ alone) and infra/ never imports it, so tests/infra/test_scoring_rules.py holds
the two equal. Keyed by `ScoringSettings` field (deployment/settings.py), which are also the
provider's input names; the stack config maps its camelCase keys onto them. What each setting
means: docs/scoring.md, "Settings".
"""

from __future__ import annotations

import math
from typing import Any

from .checks import Rule, one_of, whole

VARIABLES: dict[str, str] = {
    "max_batch": "SCORE_MAX_BATCH",
    "max_body_bytes": "SCORE_MAX_BODY_BYTES",
    "warmup_batches": "SCORE_WARMUP_BATCHES",
    "tf_threads": "SCORE_TF_THREADS",
    "forward": "SCORE_FORWARD",
    "require_gpu": "SCORE_REQUIRE_GPU",
    "gpu_min_batch": "SCORE_GPU_MIN_BATCH",
}
RANGES: dict[str, tuple[int, int]] = {
    "max_batch": (1, 65536),
    "max_body_bytes": (1024, 1024**3),
    "tf_threads": (0, 256),
    "gpu_min_batch": (0, 65536),
}
FORWARD_CHOICES: tuple[str, ...] = ("auto", "tensorflow", "routed")
# The fixed warm-up sizes; the default warm-up is those the batch limit allows and the limit.
WARMUP_SIZES: tuple[int, ...] = (1, 8, 256)
DEFAULTS: dict[str, Any] = {
    "max_batch": 1024,
    "max_body_bytes": 32 * 1024**2,
    "warmup_batches": (1, 8, 256, 1024),  # at the default limit; default_warmup_batches for others
    "tf_threads": 1,
    "forward": "auto",
    # The scorer's default. A `ScoringSettings` leaves it None, "the target decides": true on
    # azure and azure-v2 when service.gpuCores >= 1 (server_variables of
    # deployment/azure_common/environment.py), else unset.
    "require_gpu": False,
    "gpu_min_batch": 64,
}
RULES: dict[str, Rule] = {
    **{name: whole(low, high) for name, (low, high) in RANGES.items()},
    "forward": one_of(FORWARD_CHOICES),
    "require_gpu": Rule("true or false", lambda value: isinstance(value, bool)),
}
# Settings an input may leave out (None: the target decides); the others are always sent.
OPTIONAL: tuple[str, ...] = ("require_gpu",)


def default_warmup_batches(max_batch: int) -> tuple[int, ...]:
    """The fixed warm-up sizes that `max_batch` allows, and `max_batch` itself (in order, once)."""
    return tuple(sorted({size for size in WARMUP_SIZES if size <= max_batch} | {max_batch}))


def boolean_variable(value: bool) -> str:
    """A boolean setting as the scorer reads it: "true" or "false"."""
    return "true" if value else "false"


def warmup_batches_rule(max_batch: int) -> Rule:
    """Warm-up batch sizes: each a whole number from 1 to the batch limit in force."""

    def accepts(sizes: Any) -> bool:
        if not isinstance(sizes, (list, tuple)) or not sizes:
            return False
        return all(whole(1, max_batch).accepts(size) for size in sizes)

    return Rule(f"a non-empty list of whole numbers, each ≥ 1 and ≤ the maximum batch ({max_batch})", accepts)


# azmlinfsrv's worker processes per replica on AKS, from the replica's CPU and memory: the
# recommendation and its figures are docs/scoring.md's ("Workers"), computed here once.
WORKER_COUNT_VARIABLE = "WORKER_COUNT"
MEMORY_KEPT_GB = 0.5  # for the server and the OS
MEMORY_PER_WORKER_GB = 0.7  # one worker's TensorFlow and model after warm-up, measured on a CPU
# A worker on a GPU node also holds, in host memory, the CUDA context and the CUDA libraries
# TensorFlow loads (cuBLAS, cuDNN): not measured yet, so a stated, conservative figure
# (docs/scoring.md, "Workers") until `make gpu-check` measures it on a GPU.
MEMORY_PER_GPU_WORKER_GB = 2.5


def inference_workers(cpu_cores: float, memory_gb: float, gpu_cores: int = 0) -> int:
    """One worker per whole core while memory allows (a GPU replica's workers need more), at
    least one."""
    per_worker = MEMORY_PER_GPU_WORKER_GB if gpu_cores >= 1 else MEMORY_PER_WORKER_GB
    # Rounded before the floor: (4 - 0.5) / 0.7 is 5 in decimal, not 4.999... in binary.
    by_memory = math.floor(round((memory_gb - MEMORY_KEPT_GB) / per_worker, 9))
    return max(1, min(math.floor(cpu_cores), by_memory))
