"""Request bodies for the benchmark: real handwritten digits in each input format the scorer takes.

The images are scikit-learn's bundled 8x8 digits (no download possible here), scaled to 0..255 and
upscaled 3x into a 28x28 frame like MNIST's, so bodies have MNIST's size and share of zero pixels
(which matters for JSON: zeros are short, other pixels are 18-character floats).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

IMAGE_PIXELS = 784


@dataclass(frozen=True)
class BodyFormat:
    """How one input format is sent: its name in results, Content-Type, and how a batch is encoded."""

    name: str
    content_type: str

    def encode(self, pixels: np.ndarray) -> bytes:
        """Encode uint8 pixels of shape (n, 784) as this format's request body."""
        if self.name == "json":
            # As the how-to's client builds it: floats in 0..1 through the standard json module.
            return json.dumps({"data": (pixels / 255.0).tolist()}).encode()
        if self.name == "uint8":
            return np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
        if self.name == "float32":
            return (pixels / np.float32(255.0)).astype("<f4").tobytes()
        raise ValueError(f"body format {self.name!r}: expected one of {sorted(BODY_FORMATS)}")


# The Content-Types model_service/score.py selects its parser by (see its module docstring).
BODY_FORMATS: dict[str, BodyFormat] = {
    "json": BodyFormat("json", "application/json"),
    "uint8": BodyFormat("uint8", "application/octet-stream"),
    "float32": BodyFormat("float32", "application/octet-stream; dtype=float32"),
}


def digit_images(count: int, seed: int = 0) -> np.ndarray:
    """`count` real digit images as uint8 pixels of shape (count, 784), drawn with a fixed seed."""
    from sklearn.datasets import load_digits  # imported here: only the body builder needs scikit-learn

    if count < 1:
        raise ValueError(f"count {count}: expected at least 1 image")
    digits = load_digits().images  # (1797, 8, 8), values 0..16
    chosen = digits[np.random.default_rng(seed).integers(0, len(digits), size=count)]
    upscaled = np.kron(np.rint(chosen * (255 / 16)), np.ones((3, 3)))  # (count, 24, 24)
    framed = np.pad(upscaled, ((0, 0), (2, 2), (2, 2)))
    return framed.reshape(count, IMAGE_PIXELS).astype(np.uint8)
