"""The model's dense layers as numpy matrix products: the CPU forward without TensorFlow's call cost.

On a CPU, calling even a compiled TensorFlow function costs a fixed dispatch time whatever the
batch, several times the whole forward of a small batch in numpy (figures in docs/scoring.md and
docs/performance.md). On a GPU the TensorFlow forward stays: it is where the GPU is.

`DenseStack.from_variables` reads the SavedModel's variables as (kernel, bias) pairs in layer
order and checks that their shapes chain from 784 pixels to 10 logits; the stack applies relu
after every layer but the last. That is the architecture of model_tools/model.py, and it is an
assumption: `agreement_problem` compares the stack's logits with TensorFlow's on a check batch, and
the scorer uses the stack only when they agree (any other model keeps the TensorFlow forward).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from image_checks import IMAGE_PIXELS

CLASSES = 10
# float32 products summed in another order differ in the last bits: logits of size ~10 agree to
# ~1e-5; a different function (another activation, a missing layer) misses by far more.
LOGIT_TOLERANCE = 1e-3


class UnsupportedModel(ValueError):
    """The variables are not a chain of dense layers from 784 pixels to 10 logits."""


@dataclass(frozen=True)
class DenseStack:
    """Dense layers (kernel [in, out], bias [out]) with relu between them, in float32; the
    numpy `Forward` of model_forward.py."""

    name: ClassVar[str] = "numpy"
    kernels: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    @classmethod
    def from_variables(cls, variables: Iterable[Any]) -> DenseStack:
        """A stack from variables in layer order (kernel, bias, kernel, bias, ...), e.g. a loaded
        SavedModel's `.variables`; raises UnsupportedModel naming what does not fit."""
        arrays = [
            np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable) for variable in variables
        ]
        if not arrays or len(arrays) % 2:
            raise UnsupportedModel(f"{len(arrays)} variables: expected (kernel, bias) pairs of dense layers")
        kernels, biases = arrays[0::2], arrays[1::2]
        width = IMAGE_PIXELS
        for index, (kernel, bias) in enumerate(zip(kernels, biases, strict=True)):
            if kernel.ndim != 2 or kernel.shape[0] != width or bias.shape != (kernel.shape[1],):
                raise UnsupportedModel(
                    f"layer {index}: kernel {list(kernel.shape)} and bias {list(bias.shape)} do not "
                    f"take {width} inputs to one output per bias"
                )
            width = kernel.shape[1]
        if width != CLASSES:
            raise UnsupportedModel(f"the last layer has {width} outputs, not {CLASSES} logits")
        return cls(
            tuple(np.ascontiguousarray(k, dtype=np.float32) for k in kernels),
            tuple(np.ascontiguousarray(b, dtype=np.float32) for b in biases),
        )

    def logits(self, images: np.ndarray) -> np.ndarray:
        """float32 [n, 10] for float32 [n, 784] in 0..1 or uint8 [n, 784] pixels (scaled by 1/255,
        as training scaled them and as the TensorFlow forward does)."""
        scaled = images.dtype == np.uint8
        activations = images.astype(np.float32) / np.float32(255.0) if scaled else images
        last = len(self.kernels) - 1
        for index, (kernel, bias) in enumerate(zip(self.kernels, self.biases, strict=True)):
            activations = activations @ kernel
            activations += bias
            if index < last:
                np.maximum(activations, 0.0, out=activations)  # relu, in place: no extra array
        return activations

    def digits(self, images: np.ndarray) -> np.ndarray:
        """The predicted digit (int32 [n]) per image."""
        return self.logits(images).argmax(axis=1).astype(np.int32)


def agreement_problem(
    stack: DenseStack, reference_logits: np.ndarray, check_images: np.ndarray
) -> str | None:
    """None when the stack's logits for `check_images` match the reference (TensorFlow's) within
    LOGIT_TOLERANCE; otherwise what differs, for the log."""
    ours = stack.logits(check_images)
    if ours.shape != reference_logits.shape:
        return f"logits of shape {list(ours.shape)}, TensorFlow's {list(reference_logits.shape)}"
    worst = float(np.max(np.abs(ours - reference_logits)))
    if not np.isfinite(worst) or worst > LOGIT_TOLERANCE:
        return f"logits differ from TensorFlow's by up to {worst:.3g} (tolerance {LOGIT_TOLERANCE})"
    return None


def check_batch(count: int = 64, seed: int = 0) -> np.ndarray:
    """Images to compare forwards on: blank, saturated and random pixels, float32 in 0..1."""
    rng = np.random.default_rng(seed)
    random = rng.random((count - 2, IMAGE_PIXELS), dtype=np.float32)
    return np.vstack(
        [np.zeros((1, IMAGE_PIXELS), np.float32), np.ones((1, IMAGE_PIXELS), np.float32), random]
    )
