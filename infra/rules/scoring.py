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
}
RANGES: dict[str, tuple[int, int]] = {
    "max_batch": (1, 65536),
    "max_body_bytes": (1024, 1024**3),
    "tf_threads": (0, 256),
}
FORWARD_CHOICES: tuple[str, ...] = ("auto", "tensorflow")
DEFAULTS: dict[str, Any] = {
    "max_batch": 1024,
    "max_body_bytes": 32 * 1024**2,
    "warmup_batches": (1, 8, 256),  # of which those the batch limit allows: default_warmup_batches
    "tf_threads": 1,
    "forward": "auto",
}
RULES: dict[str, Rule] = {
    **{name: whole(low, high) for name, (low, high) in RANGES.items()},
    "forward": one_of(FORWARD_CHOICES),
}


def default_warmup_batches(max_batch: int) -> tuple[int, ...]:
    """The default warm-up sizes that `max_batch` allows, or just 1 when none does."""
    return tuple(size for size in DEFAULTS["warmup_batches"] if size <= max_batch) or (1,)


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
MEMORY_PER_WORKER_GB = 0.7  # one worker's TensorFlow and model after warm-up


def inference_workers(cpu_cores: float, memory_gb: float) -> int:
    """One worker per whole core while memory allows, at least one."""
    # Rounded before the floor: (4 - 0.5) / 0.7 is 5 in decimal, not 4.999... in binary.
    by_memory = math.floor(round((memory_gb - MEMORY_KEPT_GB) / MEMORY_PER_WORKER_GB, 9))
    return max(1, min(math.floor(cpu_cores), by_memory))
