"""The model's forward behind one interface: `Forward.digits(images)` -> int32 [n] digits.

Two implementations:
- `TensorFlowForward`: the SavedModel's `serve` endpoint as concrete tf.functions with a fixed
  [None, 784] signature and the argmax inside the graph, one for float32 and one for uint8 input
  (cast and /255 in the graph), the input placed on the device once. Never `model.predict` per
  request: its fixed cost per call is larger than the whole forward (docs/scoring.md).
- `dense_forward.DenseStack`: the same dense layers as numpy matrix products, used on a CPU
  only once its logits have matched TensorFlow's (a TensorFlow call's fixed dispatch cost is
  larger than the whole forward of a small batch in numpy; docs/scoring.md).
- `RoutedForward`: both, by batch size: numpy below `min_batch` images, TensorFlow (on the GPU)
  from `min_batch` on. `route(n)` names the forward a batch of n images goes to.

`find_model_dir` and `load_forward` do the I/O; the scorer warms the forward they return.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar, Protocol

import dense_forward
import numpy as np
from image_checks import IMAGE_PIXELS
from scoring_errors import ModelLoadError
from scoring_settings import ENV_MODEL_DIR

logger = logging.getLogger("azmlinfsrv.scorer")

MODEL_FILE = "saved_model.pb"
SERVING_ENDPOINT = "serve"  # Keras 3 `model.export()`'s endpoint: float32 [None, 784] -> logits


class Forward(Protocol):
    """Predicted digits for checked images: uint8 [n, 784] pixels or float32 [n, 784] in 0..1."""

    name: ClassVar[str]

    def digits(self, images: np.ndarray) -> np.ndarray: ...


class TensorFlowForward:
    """The SavedModel's forward as compiled TensorFlow functions on one device."""

    name: ClassVar[str] = "tensorflow"

    def __init__(self, tf: Any, serve: Any, device: str) -> None:
        # The argmax runs inside the graph, so a request gets back n int32s, not n×10 logits.
        @tf.function(input_signature=[tf.TensorSpec([None, IMAGE_PIXELS], tf.float32)])
        def digits_from_float32(images: Any) -> Any:
            return tf.argmax(serve(images), axis=1, output_type=tf.int32)

        # uint8 pixels travel to the device as bytes and are scaled there, as training scaled them.
        @tf.function(input_signature=[tf.TensorSpec([None, IMAGE_PIXELS], tf.uint8)])
        def digits_from_uint8(pixels: Any) -> Any:
            return digits_from_float32(tf.cast(pixels, tf.float32) / 255.0)

        with tf.device(device):
            self._float32 = digits_from_float32.get_concrete_function()
            self._uint8 = digits_from_uint8.get_concrete_function()
        self._tf = tf
        self._device = device

    def digits(self, images: np.ndarray) -> np.ndarray:
        forward = self._uint8 if images.dtype == np.uint8 else self._float32
        with self._tf.device(self._device):
            tensor = self._tf.constant(images)  # placed on the device once; the forward reads it there
            return forward(tensor).numpy()


class RoutedForward:
    """Small batches to one forward (numpy), batches of at least `min_batch` images to another
    (TensorFlow on the GPU). The hot path is one attribute lookup and one comparison."""

    name: ClassVar[str] = "routed"

    def __init__(self, small: Forward, large: Forward, min_batch: int) -> None:
        self.small, self.large, self.min_batch = small, large, min_batch
        self._small_digits, self._large_digits = small.digits, large.digits

    def route(self, n: int) -> str:
        """The name of the forward a batch of `n` images goes to: "numpy" or "tensorflow"."""
        return self.forward_for(n).name

    def forward_for(self, n: int) -> Forward:
        return self.large if n >= self.min_batch else self.small

    def describe(self) -> str:
        small, large, at = self.small.name, self.large.name, self.min_batch
        return f"routed ({small} below {at} images, {large} from {at})"

    def digits(self, images: np.ndarray) -> np.ndarray:
        if images.shape[0] >= self.min_batch:
            return self._large_digits(images)
        return self._small_digits(images)


def find_model_dir(root: Path) -> Path:
    """The one directory under `root` (or `root` itself) that holds saved_model.pb.

    Azure ML mounts a registered model at AZUREML_MODEL_DIR either directly or as
    `<folder name>/...`, so the SavedModel may sit a level or two below the root.
    """
    if not root.is_dir():
        raise ModelLoadError(f"{ENV_MODEL_DIR}={root} is not a directory")
    found = sorted(path.parent for path in root.rglob(MODEL_FILE))
    if not found:
        listing = sorted(str(p.relative_to(root)) for p in root.rglob("*"))[:20]
        raise ModelLoadError(f"no {MODEL_FILE} under {ENV_MODEL_DIR}={root} (found: {listing})")
    if len(found) > 1:
        raise ModelLoadError(
            f"{len(found)} SavedModels under {ENV_MODEL_DIR}={root}: {[str(p) for p in found]}; register one"
        )
    return found[0]


def load_forward(
    tf: Any, model_dir: Path, device: str, *, allow_numpy: bool, route_from: int | None = None
) -> Forward:
    """The SavedModel in `model_dir` as a forward on `device`: the numpy one when allowed and it
    matches TensorFlow's logits, else TensorFlow's. With `route_from` (a batch size) both, routed:
    numpy below it, TensorFlow on `device` from it on (TensorFlow alone when numpy does not
    match). Raises ModelLoadError."""
    try:
        model = tf.saved_model.load(str(model_dir))
    except Exception as error:  # TensorFlow raises many types for a damaged SavedModel
        raise ModelLoadError(f"cannot load the SavedModel in {model_dir}: {error}") from error
    serve = getattr(model, SERVING_ENDPOINT, None)
    if serve is None:
        raise ModelLoadError(
            f"the SavedModel in {model_dir} has no {SERVING_ENDPOINT!r} endpoint "
            "(export it with Keras 3 `model.export(dir)`)"
        )
    stack = matching_dense_stack(model, serve) if allow_numpy or route_from is not None else None
    if stack is None:
        return TensorFlowForward(tf, serve, device)
    if route_from is None:
        return stack
    return RoutedForward(stack, TensorFlowForward(tf, serve, device), route_from)


def matching_dense_stack(model: Any, serve: Any) -> dense_forward.DenseStack | None:
    """The numpy forward of the loaded SavedModel if it computes TensorFlow's logits, else None
    (logged: the scorer then keeps the TensorFlow forward)."""
    try:
        stack = dense_forward.DenseStack.from_variables(model.variables)
    except (dense_forward.UnsupportedModel, AttributeError) as error:
        logger.info("numpy forward not used: %s", error)
        return None
    images = dense_forward.check_batch()
    problem = dense_forward.agreement_problem(stack, serve(images).numpy(), images)
    if problem is not None:
        logger.warning("numpy forward not used: %s", problem)
        return None
    return stack
