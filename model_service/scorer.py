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
from device_setup import configure_devices, configure_threads
from image_checks import IMAGE_PIXELS
from model_forward import Forward, find_model_dir, load_forward
from scoring_errors import InvalidInput, NotReady
from scoring_settings import ScorerSettings

logger = logging.getLogger("azmlinfsrv.scorer")

_INPUT_DTYPES = (np.uint8, np.float32)


class Scorer:
    """The MNIST DNN as a service: `load()` once, then `predict()`/`score()` per request."""

    def __init__(self, settings: ScorerSettings) -> None:
        self.settings = settings
        self.model_dir: Path | None = None
        self.device: str | None = None
        self._forward: Forward | None = None  # set last in load(): ready means loaded and warm

    @property
    def ready(self) -> bool:
        return self._forward is not None

    @property
    def forward_name(self) -> str | None:
        """Which forward predict() runs: "numpy" (dense_forward.py, CPU) or "tensorflow"."""
        return None if self._forward is None else self._forward.name

    def load(self) -> None:
        """Find and load the SavedModel, choose and warm its forward at the configured batch sizes,
        then mark the scorer ready. Raises ModelLoadError."""
        import tensorflow as tf  # imported here: seconds of start-up that only load() should pay

        model_dir = find_model_dir(self.settings.model_root)
        configure_threads(tf.config, self.settings.tf_threads)
        device = configure_devices(tf.config)
        allow_numpy = device == "/CPU:0" and self.settings.forward == "auto"
        forward = load_forward(tf, model_dir, device, allow_numpy=allow_numpy)
        for size in self.settings.warmup_batches:
            for dtype in _INPUT_DTYPES:
                forward.digits(np.zeros((size, IMAGE_PIXELS), dtype=dtype))
        self.model_dir, self.device = model_dir, device
        self._forward = forward  # ready from here on, warm
        logger.info(
            "model %s loaded on %s (TensorFlow %s); forward: %s; warmed at batch sizes %s",
            model_dir,
            device,
            tf.__version__,
            forward.name,
            list(self.settings.warmup_batches),
        )

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
