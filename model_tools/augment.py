"""An MNIST-sized set made here: scikit-learn's digits, shifted, rotated, scaled and noised.

MNIST itself cannot be downloaded on a machine without network. To time and check training at
MNIST's size, `augmented` draws `count` images from a set of 28×28 digits (e.g. the digits'
training split) and gives each a random affine distortion (rotation, scale, shift) and pixel
noise. The held-out set is augmented from the held-out digits only, so no distorted copy of a
test digit is ever trained on.

    python -m model_tools.augment --train 60000 --test 10000 --out DIR

writes MNIST's four IDX files (`train-images-idx3-ubyte.gz`, ...) into DIR, for
`python -m model_tools.train --images ... --test-images ...`.

numpy only (bilinear sampling written out here, so the scoring image needs no scipy).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model_tools import mnist

# MNIST's own file names, so the output reads like a downloaded MNIST.
TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
_CHUNK = 4096  # images distorted at once: bounds the coordinate arrays to a few tens of MB


@dataclass(frozen=True)
class Distortion:
    """The ranges each image's random distortion is drawn from (uniformly)."""

    max_rotation_degrees: float = 15.0
    max_scale_change: float = 0.1  # scale drawn from 1 ± this
    max_shift_pixels: float = 3.0
    noise_std: float = 12.0  # Gaussian pixel noise, in 0..255 units


def augmented(
    source: mnist.Dataset, count: int, *, seed: int, distortion: Distortion = Distortion()
) -> mnist.Dataset:
    """`count` images drawn from `source` (with replacement), each randomly distorted."""
    if count < 1:
        raise ValueError(f"count: {count!r} is not allowed (allowed: an integer >= 1)")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(source), size=count)
    images = np.empty((count, mnist.IMAGE_SIDE, mnist.IMAGE_SIDE), dtype=np.uint8)
    for start in range(0, count, _CHUNK):
        chosen = picks[start : start + _CHUNK]
        images[start : start + len(chosen)] = _distort(source.images[chosen], rng, distortion)
    return mnist.Dataset(images, source.labels[picks])


def _distort(images: np.ndarray, rng: np.random.Generator, distortion: Distortion) -> np.ndarray:
    """Each image rotated, scaled and shifted about its centre (bilinear), then noised."""
    n, side = len(images), images.shape[1]
    angle = np.deg2rad(rng.uniform(-distortion.max_rotation_degrees, distortion.max_rotation_degrees, n))
    scale = rng.uniform(1 - distortion.max_scale_change, 1 + distortion.max_scale_change, n)
    shift = rng.uniform(-distortion.max_shift_pixels, distortion.max_shift_pixels, (n, 2))
    centre = (side - 1) / 2
    ys, xs = np.mgrid[0:side, 0:side].astype(np.float64) - centre
    # Inverse mapping: for each output pixel, where it comes from in the source image.
    cos, sin = (np.cos(angle) / scale)[:, None, None], (np.sin(angle) / scale)[:, None, None]
    dy, dx = ys[None] - shift[:, 0, None, None], xs[None] - shift[:, 1, None, None]
    src_y = cos * dy - sin * dx + centre
    src_x = sin * dy + cos * dx + centre
    sampled = _bilinear(images.astype(np.float64), src_y, src_x)
    sampled += rng.normal(0.0, distortion.noise_std, sampled.shape)
    return np.clip(np.rint(sampled), 0, 255).astype(np.uint8)


def _bilinear(images: np.ndarray, src_y: np.ndarray, src_x: np.ndarray) -> np.ndarray:
    """images [n, h, w] sampled at (src_y, src_x) [n, h, w]; outside the image is background (0)."""
    n, height, width = images.shape
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))  # a zero border for samples past the edge
    y = np.clip(src_y + 1, 0, height)
    x = np.clip(src_x + 1, 0, width)
    y0, x0 = np.floor(y).astype(np.intp), np.floor(x).astype(np.intp)
    y1, x1 = np.minimum(y0 + 1, height + 1), np.minimum(x0 + 1, width + 1)
    fy, fx = y - y0, x - x0
    index = np.arange(n)[:, None, None]
    top = padded[index, y0, x0] * (1 - fx) + padded[index, y0, x1] * fx
    bottom = padded[index, y1, x0] * (1 - fx) + padded[index, y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def mnist_sized(train_count: int, test_count: int, *, seed: int) -> tuple[mnist.Dataset, mnist.Dataset]:
    """(training, held-out) sets augmented from the digits' training and held-out splits."""
    train_digits, test_digits = mnist.split_digits()
    return (
        augmented(train_digits, train_count, seed=seed),
        augmented(test_digits, test_count, seed=seed + 1),
    )


def write_mnist_sized(out_dir: Path, train_count: int, test_count: int, *, seed: int = 0) -> None:
    """MNIST's four IDX files for an augmented set, in `out_dir`."""
    train_set, test_set = mnist_sized(train_count, test_count, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    mnist.save_dataset(train_set, out_dir / TRAIN_IMAGES, out_dir / TRAIN_LABELS)
    mnist.save_dataset(test_set, out_dir / TEST_IMAGES, out_dir / TEST_LABELS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m model_tools.augment", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--train", type=int, default=60_000, help="training images (default 60000)")
    parser.add_argument("--test", type=int, default=10_000, help="held-out images (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="directory for the four IDX files")
    args = parser.parse_args(argv)
    try:
        write_mnist_sized(args.out, args.train, args.test, seed=args.seed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.train} training and {args.test} held-out images to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
