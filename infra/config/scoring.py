"""The `scoring` section: the entry script's settings (its SCORE_* variables), on every target.

Defaults and ranges are the scorer's (rules/scoring.py); the provider's `check` applies the same
rules to the deployment's inputs. azure-v2 takes them from here directly (v2/target.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.reader import Cast, Invalid, Reader, boolean, text, whole_number
from deployment.settings import ScoringSettings
from rules import scoring
from rules.checks import Rule


def batch_sizes(value: Any) -> tuple[Any, ...]:
    """A list of numbers (inside the `scoring` object the engine sends JSON, so a real list)."""
    if not isinstance(value, (list, tuple)):
        raise Invalid("a list of whole numbers")
    return tuple(whole_number(size) for size in value)


# config key → (ScoringSettings field, cast, rule); warmupBatches is checked against maxBatch below.
SCORING_FIELDS: Mapping[str, tuple[str, Cast, Rule | None]] = {
    "maxBatch": ("max_batch", whole_number, scoring.RULES["max_batch"]),
    "maxBodyBytes": ("max_body_bytes", whole_number, scoring.RULES["max_body_bytes"]),
    "tfThreads": ("tf_threads", whole_number, scoring.RULES["tf_threads"]),
    "forward": ("forward", text, scoring.RULES["forward"]),
    "requireGpu": ("require_gpu", boolean, scoring.RULES["require_gpu"]),
    "gpuMinBatch": ("gpu_min_batch", whole_number, scoring.RULES["gpu_min_batch"]),
}
WARMUP_KEY = "warmupBatches"
KEYS = {
    "scoring": ("maxBatch", "maxBodyBytes", WARMUP_KEY, "tfThreads", "forward", "requireGpu", "gpuMinBatch")
}


def read_scoring(reader: Reader) -> ScoringSettings | None:
    """The scoring settings, or None when one of them is invalid (the problems say which)."""
    before = len(reader.problems)
    fields = reader.section("scoring", SCORING_FIELDS)
    if "max_batch" not in fields and reader.raw("scoring.maxBatch") is not None:
        return None  # maxBatch is invalid (reported): no limit to check the warm-up sizes against
    max_batch = fields.get("max_batch", scoring.DEFAULTS["max_batch"])
    warmup = reader.read(f"scoring.{WARMUP_KEY}", batch_sizes, scoring.warmup_batches_rule(max_batch))
    if reader.failed_since(before):
        return None
    return ScoringSettings(**fields, **({"warmup_batches": warmup} if warmup is not None else {}))
