"""The scorer's settings, read from the environment once (in `init()`); every bad value is named.

AZUREML_MODEL_DIR (required) and the optional SCORE_* variables below, each with its default and
allowed range here and its meaning in docs/scoring.md. The environment is passed in (a mapping),
so tests hand in a dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scoring_errors import SettingsError

ENV_MODEL_DIR = "AZUREML_MODEL_DIR"
ENV_MAX_BATCH = "SCORE_MAX_BATCH"
ENV_MAX_BODY_BYTES = "SCORE_MAX_BODY_BYTES"
ENV_WARMUP_BATCHES = "SCORE_WARMUP_BATCHES"
ENV_TF_THREADS = "SCORE_TF_THREADS"
ENV_FORWARD = "SCORE_FORWARD"
ENV_REQUIRE_GPU = "SCORE_REQUIRE_GPU"
ENV_GPU_MIN_BATCH = "SCORE_GPU_MIN_BATCH"

DEFAULT_MAX_BATCH = 1024
# A JSON batch of 1024 images with float32 values printed in full is ~18 MB.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
# The fixed warm-up sizes; the default warm-up is those the batch limit allows plus the limit
# itself, so the largest batch a request may send is warm too (default_warmup_batches).
WARMUP_SIZES = (1, 8, 256)
# Each gunicorn worker is its own process with its own TensorFlow and BLAS: pools as wide as the
# machine in every worker fight each other, so scale with workers, not threads (docs/scoring.md).
DEFAULT_TF_THREADS = 1
# auto: on a CPU, the numpy forward (dense_forward.py) once it has matched TensorFlow's logits;
# on a GPU, routed: numpy below SCORE_GPU_MIN_BATCH images, TensorFlow on the GPU from there.
# tensorflow: the compiled TensorFlow forward for every batch. routed: the routed forward on
# whatever device there is (a CPU too: how the tests exercise it).
FORWARD_CHOICES = ("auto", "tensorflow", "routed")
DEFAULT_FORWARD = "auto"
# Stop in load() unless TensorFlow sees a GPU (the Azure targets set it when service.gpuCores >= 1).
DEFAULT_REQUIRE_GPU = False
BOOLEAN_CHOICES = ("true", "false")
# Batches of at least this many images go to the GPU forward, smaller ones to numpy. Chosen from
# the CPU measurements (a TensorFlow call's ~0.35 ms fixed cost against numpy's 0.03 ms for one
# image, 1.7 ms for 256); not yet measured on a GPU (docs/scoring.md, "Batch routing").
DEFAULT_GPU_MIN_BATCH = 64
_GPU_MIN_BATCH_RANGE = (0, 65536)
_TF_THREADS_RANGE = (0, 256)
_MAX_BATCH_RANGE = (1, 65536)
_MAX_BODY_RANGE = (1024, 1024**3)


@dataclass(frozen=True)
class ScorerRuntimeSettings:
    """What the running scorer uses: its model directory and the SCORE_* values, read from its
    environment by `from_env` (or built directly in tests). The same SCORE_* fields, as the
    deployment sets them, are infra's `deployment.settings.ScoringSettings` (this folder is
    uploaded alone and can't import infra/; a test holds the two equal)."""

    model_root: Path
    max_batch: int = DEFAULT_MAX_BATCH
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    warmup_batches: tuple[int, ...] | None = None  # None: default_warmup_batches (warmup_sizes)
    tf_threads: int = DEFAULT_TF_THREADS
    forward: str = DEFAULT_FORWARD
    require_gpu: bool = DEFAULT_REQUIRE_GPU
    gpu_min_batch: int = DEFAULT_GPU_MIN_BATCH

    def __post_init__(self) -> None:
        if self.forward not in FORWARD_CHOICES:
            raise SettingsError(
                f"{ENV_FORWARD}: {self.forward!r} is not allowed (allowed: {', '.join(FORWARD_CHOICES)})"
            )
        if not isinstance(self.require_gpu, bool):
            allowed = ", ".join(BOOLEAN_CHOICES)
            value = self.require_gpu
            raise SettingsError(f"{ENV_REQUIRE_GPU}: {value!r} is not allowed (allowed: {allowed})")
        _check_range(ENV_MAX_BATCH, self.max_batch, _MAX_BATCH_RANGE)
        _check_range(ENV_GPU_MIN_BATCH, self.gpu_min_batch, _GPU_MIN_BATCH_RANGE)
        _check_range(ENV_TF_THREADS, self.tf_threads, _TF_THREADS_RANGE)
        _check_range(ENV_MAX_BODY_BYTES, self.max_body_bytes, _MAX_BODY_RANGE)
        for size in self.warmup_sizes:
            _check_range(ENV_WARMUP_BATCHES, size, (1, self.max_batch))

    @property
    def warmup_sizes(self) -> tuple[int, ...]:
        """The batch sizes warmed up before the scorer is ready: the set ones, else the defaults."""
        if self.warmup_batches is None:
            return default_warmup_batches(self.max_batch)
        return self.warmup_batches

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ScorerRuntimeSettings:
        """Read AZUREML_MODEL_DIR (required) and the optional SCORE_* settings from `environ`."""
        model_dir = environ.get(ENV_MODEL_DIR, "").strip()
        if not model_dir:
            raise SettingsError(
                f"{ENV_MODEL_DIR} is not set: Azure ML sets it to the registered model's directory; "
                "locally pass --model_dir to azmlinfsrv"
            )
        max_batch = _int_setting(environ, ENV_MAX_BATCH, DEFAULT_MAX_BATCH)
        # Unless set, warm up at the default sizes the batch limit allows, and at the limit.
        default_warmup = default_warmup_batches(max_batch)
        return cls(
            model_root=Path(model_dir),
            max_batch=max_batch,
            max_body_bytes=_int_setting(environ, ENV_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
            warmup_batches=_int_list_setting(environ, ENV_WARMUP_BATCHES, default_warmup),
            tf_threads=_int_setting(environ, ENV_TF_THREADS, DEFAULT_TF_THREADS),
            forward=(environ.get(ENV_FORWARD) or DEFAULT_FORWARD).strip().lower(),
            require_gpu=_bool_setting(environ, ENV_REQUIRE_GPU, DEFAULT_REQUIRE_GPU),
            gpu_min_batch=_int_setting(environ, ENV_GPU_MIN_BATCH, DEFAULT_GPU_MIN_BATCH),
        )


def default_warmup_batches(max_batch: int) -> tuple[int, ...]:
    """The fixed warm-up sizes the batch limit allows, and the limit itself (in order, once each)."""
    return tuple(sorted({size for size in WARMUP_SIZES if size <= max_batch} | {max_batch}))


# The warm-up at the default batch limit (1, 8, 256, 1024).
DEFAULT_WARMUP_BATCHES = default_warmup_batches(DEFAULT_MAX_BATCH)


def _bool_setting(environ: Mapping[str, str], key: str, default: bool) -> bool:
    raw = environ.get(key)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value not in BOOLEAN_CHOICES:
        raise SettingsError(f"{key}: {raw!r} is not allowed (allowed: {', '.join(BOOLEAN_CHOICES)})")
    return value == "true"


def _int_setting(environ: Mapping[str, str], key: str, default: int) -> int:
    raw = environ.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise SettingsError(f"{key}: {raw!r} is not an integer") from None


def _int_list_setting(environ: Mapping[str, str], key: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = environ.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        return tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise SettingsError(f"{key}: {raw!r} is not a comma-separated list of integers") from None


def _check_range(key: str, value: int, allowed: tuple[int, int]) -> None:
    low, high = allowed
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"{key}: {value!r} is not allowed (allowed: an integer in {low}..{high})")
