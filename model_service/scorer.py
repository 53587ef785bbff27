"""The MNIST DNN as a service: `Scorer` loads a warmed forward once and scores request bodies.

`Scorer` follows KServe's model lifecycle: the constructor only stores settings, `load()` does
the I/O (finds and loads the SavedModel, sizes the thread pools, picks the device, warms the
forward) and only then marks the scorer ready; `predict()` / `score()` serve requests.
`score.py` adapts it to Azure ML's `init()`/`run()`.

The scoring modules, each with one job (all top-level modules of this source directory, imported
by their plain names: score.py puts the directory on sys.path):

    scoring_errors.py    the errors and the HTTP status each stands for
    scoring_settings.py  the SCORE_* / AZUREML_MODEL_DIR settings, read from a mapping
    body_decoding.py     Content-Type -> encoding; body -> images; digits -> JSON
    json_decoding.py     the JSON body's fast (simdjson) and strict (orjson) decoders
    image_checks.py      batch size and pixel range checks every encoding shares
    device_setup.py      thread pools, GPU memory growth, the device
    model_forward.py     the SavedModel as one `Forward` interface: TensorFlow or numpy
    dense_forward.py     the numpy forward

Imports only the scoring image's packages (numpy, orjson, pysimdjson, threadpoolctl, tensorflow).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from body_decoding import Encoding, decode_body, encode_digits
from device_setup import GPU_DEVICE, DeviceReport, configure_devices, configure_threads, device_report
from image_checks import IMAGE_PIXELS
from model_forward import Forward, RoutedForward, find_model_dir, load_forward
from scoring_errors import DeviceError, InvalidInput, NotReady
from scoring_settings import ScorerRuntimeSettings

logger = logging.getLogger("azmlinfsrv.scorer")

_INPUT_DTYPES = (np.uint8, np.float32)


class Scorer:
    """The MNIST DNN as a service: `load()` once, then `predict()`/`score()` per request."""

    def __init__(self, settings: ScorerRuntimeSettings) -> None:
        self.settings = settings
        self.model_dir: Path | None = None
        self.device: str | None = None
        self.device_report: DeviceReport | None = None
        self.warmed_batches: tuple[int, ...] = ()
        self._forward: Forward | None = None  # set last in load(): ready means loaded and warm

    @property
    def ready(self) -> bool:
        return self._forward is not None

    @property
    def forward_name(self) -> str | None:
        """Which forward predict() runs: "numpy" (dense_forward.py, CPU), "tensorflow", or
        "routed" (numpy below SCORE_GPU_MIN_BATCH images, TensorFlow from there)."""
        return None if self._forward is None else self._forward.name

    @property
    def forward(self) -> Forward | None:
        return self._forward

    def load(self) -> None:
        """Find and load the SavedModel, check the device, choose and warm its forward at the
        configured batch sizes, then mark the scorer ready. Raises ModelLoadError (DeviceError
        when SCORE_REQUIRE_GPU=true and TensorFlow sees no GPU)."""
        import tensorflow as tf  # imported here: seconds of start-up that only load() should pay

        settings = self.settings
        model_dir = find_model_dir(settings.model_root)
        configure_threads(tf.config, settings.tf_threads)
        device = configure_devices(tf.config)
        report = device_report(tf, device)
        if settings.require_gpu and device != GPU_DEVICE:
            raise DeviceError(report.missing_gpu())
        if device == GPU_DEVICE:
            logger.info("%s", report.describe())
        on_gpu = device == GPU_DEVICE
        routed = settings.forward == "routed" or (settings.forward == "auto" and on_gpu)
        forward = load_forward(
            tf,
            model_dir,
            device,
            allow_numpy=settings.forward == "auto" and not on_gpu,
            route_from=settings.gpu_min_batch if routed else None,
        )
        warmed = warm_up(forward, settings.warmup_sizes, settings.max_batch)
        self.model_dir, self.device, self.device_report = model_dir, device, report
        self.warmed_batches = warmed
        self._forward = forward  # ready from here on, warm
        logger.info(
            "model %s loaded on %s (TensorFlow %s); forward: %s; warmed at batch sizes %s",
            model_dir,
            device,
            tf.__version__,
            forward.describe() if isinstance(forward, RoutedForward) else forward.name,
            list(warmed),
        )

    def route(self, n: int) -> str | None:
        """The forward a batch of `n` images runs on: "numpy" or "tensorflow" (None before load())."""
        forward = self._forward
        if forward is None:
            return None
        return forward.route(n) if isinstance(forward, RoutedForward) else forward.name

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted digits (int32 [n]) for uint8 [n, 784] pixels or float32 [n, 784] in 0..1."""
        forward = self._forward
        if forward is None:
            raise NotReady("the model is not loaded yet")
        if images.ndim != 2 or images.shape[1] != IMAGE_PIXELS:
            raise InvalidInput(f"images must have shape [n, {IMAGE_PIXELS}], got {list(images.shape)}")
        if images.dtype not in _INPUT_DTYPES:
            raise InvalidInput(f"images must be uint8 or float32, got {images.dtype}")
        return forward.digits(images)

    def score(self, body: bytes, encoding: Encoding) -> bytes:
        """A request body in `encoding` -> the JSON list of predicted digits. Raises ScoringError."""
        forward = self._forward
        if forward is None:
            raise NotReady("the model is not loaded yet")
        # decode_body returns only [n, 784] uint8 or float32: predict()'s checks are for other callers.
        return encode_digits(forward.digits(decode_body(body, encoding, self.settings.max_batch)))


def warm_up(forward: Forward, sizes: tuple[int, ...], max_batch: int) -> tuple[int, ...]:
    """Run `forward` once per size and input dtype; a routed forward is also run at one size each
    of its forwards serves (within `max_batch`) if none of `sizes` reached it. Returns the sizes run."""
    run = list(sizes)
    if isinstance(forward, RoutedForward):
        served = {forward.route(size) for size in sizes}
        smallest_large = max(forward.min_batch, 1)
        if forward.small.name not in served and forward.min_batch > 1:
            run.append(min(forward.min_batch - 1, max_batch))  # the largest batch numpy serves
        if forward.large.name not in served and smallest_large <= max_batch:
            run.append(smallest_large)  # the smallest batch TensorFlow serves
    for size in run:
        for dtype in _INPUT_DTYPES:
            forward.digits(np.zeros((size, IMAGE_PIXELS), dtype=dtype))
    return tuple(run)
