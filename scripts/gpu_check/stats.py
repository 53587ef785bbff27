"""The pure arithmetic of the check: percentiles, medians, and the batch threshold from timings."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (harness/loadgen.py's definition); None for no values."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction: {fraction!r} is not allowed (allowed: 0..1)")
    if not values:
        return None
    ordered = sorted(values)
    rank = min(max(1, math.ceil(fraction * len(ordered))), len(ordered))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 0.5)


def measured_threshold(
    numpy_ms: Mapping[int, float], tensorflow_ms: Mapping[int, float]
) -> tuple[int | None, str]:
    """The smallest measured batch size from which TensorFlow is faster than numpy at that size
    and at every larger one (so one noisy size below the crossover does not decide it), with how
    it was found. (None, why) when TensorFlow is not faster at the largest size measured.

    Same meaning as SCORE_GPU_MIN_BATCH: batches of at least this many images go to TensorFlow."""
    sizes = sorted(numpy_ms.keys() & tensorflow_ms.keys())
    if not sizes:
        return None, "no batch size was timed on both forwards"
    threshold = None
    for size in reversed(sizes):
        if tensorflow_ms[size] < numpy_ms[size]:
            threshold = size
        else:
            break
    span = f"{sizes[0]}..{sizes[-1]}" if len(sizes) > 1 else str(sizes[0])
    if threshold is None:
        return None, f"TensorFlow was not faster than numpy at the largest batch measured ({span} images)"
    faster_below = [size for size in sizes if size < threshold and tensorflow_ms[size] < numpy_ms[size]]
    how = f"TensorFlow faster than numpy from {threshold} images through {sizes[-1]} (measured {span})"
    if faster_below:
        how += f"; also faster at {faster_below}, but not at every size from there"
    return threshold, how


def images_per_s(ok_requests: int, batch: int, elapsed_s: float) -> float | None:
    """Images scored per second by `ok_requests` successful requests of `batch` images."""
    if elapsed_s <= 0 or ok_requests <= 0:
        return None
    return ok_requests * batch / elapsed_s
