"""Request bodies for the benchmark: real handwritten digits in each input format the scorer takes.

The images are the held-out digits (model_service/mnist.py `split_digits`: scikit-learn's 8x8
digits made to look like MNIST), so bodies have MNIST's size and share of zero pixels (which
matters for JSON: zeros are short, other pixels are 18-character floats).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from model_tools import mnist


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
    """`count` held-out digit images as uint8 pixels of shape (count, 784), drawn with a fixed seed."""
    if count < 1:
        raise ValueError(f"count {count}: expected at least 1 image")
    held_out = mnist.split_digits()[1].images.reshape(-1, mnist.IMAGE_PIXELS)
    return held_out[np.random.default_rng(seed).integers(0, len(held_out), size=count)]
