"""MNIST-shaped data: the IDX file format, and scikit-learn's digits as a stand-in for MNIST.

IDX (http://yann.lecun.com/exdb/mnist/): a big-endian header of two zero bytes, a type code,
the number of dimensions, then one uint32 per dimension, then the values in C order, big-endian.
MNIST's images are type 0x08 (uint8) with 3 dimensions (magic 0x00000803), its labels uint8
with 1 dimension (magic 0x00000801). Files may be gzip-compressed; `read_idx` recognises that by
content, not by name.

Errors: `IdxFormatError` (a `ValueError`) for any file that is not a well-formed IDX file of the
expected kind; its message names the file and what is wrong.

Only numpy is needed at import time (this module ships in the Azure ML source directory);
scikit-learn is imported by `load_digits_as_mnist` alone.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SIDE = 28
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE
CLASSES = 10

# IDX type code -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIMS = 255  # the header's dimension count is one byte

# scikit-learn's digits: 8x8 pixels with values 0..16. MNIST centres each digit's 20x20 box in
# a 28x28 image, so the 8x8 image is upscaled to 20x20 and padded by 4 on each side.
_DIGITS_MAX_VALUE = 16.0
# The held-out split of the digits: training holds it out by default, the client and the tests
# score it, so accuracy is measured on images the model never saw.
DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0
_DIGITS_SIDE = 8
_DIGIT_BOX_SIDE = 20


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file of the expected kind."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem


@dataclass(frozen=True)
class Dataset:
    """Images as uint8 [n, 28, 28] (0 = background, 255 = ink), labels as uint8 [n] in 0..9."""

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise ValueError(
                f"images: expected uint8 [n, {IMAGE_SIDE}, {IMAGE_SIDE}], "
                f"got {self.images.dtype} {list(self.images.shape)}"
            )
        if self.labels.dtype != np.uint8 or self.labels.shape != (len(self.images),):
            raise ValueError(
                f"labels: expected uint8 [{len(self.images)}] (one per image), "
                f"got {self.labels.dtype} {list(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: np.ndarray) -> Dataset:
        return Dataset(self.images[indices], self.labels[indices])

    def sha256(self) -> str:
        """A content hash of images and labels: what a trained model's metadata records."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.images).tobytes())
        digest.update(np.ascontiguousarray(self.labels).tobytes())
        return digest.hexdigest()


def to_model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images [n, 28, 28] -> float32 [n, 784] in 0..1, the model's input."""
    return (images.reshape(len(images), IMAGE_PIXELS).astype(np.float32)) / np.float32(255.0)


# ---------------------------------------------------------------------------------------------
# IDX files


def read_idx(path: Path | str) -> np.ndarray:
    """Read any IDX file (gzip or plain) into a native-endian array of the header's shape."""
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IdxFormatError(path, f"truncated header: {len(raw)} bytes, an IDX header needs at least 4")
    zero1, zero2, type_code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero1 != 0 or zero2 != 0:
        raise IdxFormatError(
            path, f"not an IDX file: magic starts with 0x{raw[:4].hex()}, IDX files start with 0x0000"
        )
    if type_code not in _IDX_DTYPES:
        allowed = ", ".join(f"0x{code:02x}" for code in _IDX_DTYPES)
        raise IdxFormatError(path, f"unknown IDX type code 0x{type_code:02x} (allowed: {allowed})")
    if ndim == 0:
        raise IdxFormatError(path, "IDX header declares 0 dimensions")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise IdxFormatError(
            path, f"truncated header: {ndim} dimensions need {header_size} bytes, the file has {len(raw)}"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = _IDX_DTYPES[type_code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: a forged header cannot overflow
    actual = len(raw) - header_size
    if actual < expected:
        raise IdxFormatError(
            path, f"truncated data: shape {list(shape)} needs {expected} bytes, the file has {actual}"
        )
    if actual > expected:
        raise IdxFormatError(
            path, f"{actual - expected} unexpected bytes after the data of shape {list(shape)}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_size, count=expected // dtype.itemsize)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: Path | str, array: np.ndarray) -> None:
    """Write `array` as an IDX file; gzip-compressed when the name ends in `.gz`."""
    path = Path(path)
    array = np.asarray(array)
    type_code = _type_code_for(array.dtype)
    if not 1 <= array.ndim <= _MAX_DIMS:
        raise ValueError(f"IDX holds 1..{_MAX_DIMS} dimensions, got an array of shape {list(array.shape)}")
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = np.ascontiguousarray(array, dtype=_IDX_DTYPES[type_code]).tobytes()
    # mtime=0 keeps the same array's .gz file byte-identical across runs.
    payload = gzip.compress(header + body, mtime=0) if path.suffix == ".gz" else header + body
    path.write_bytes(payload)


def read_images(path: Path | str) -> np.ndarray:
    """An MNIST image file: uint8, 3 dimensions [n, 28, 28]."""
    images = _read_typed(path, np.dtype(np.uint8), ndim=3, kind="image")
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise IdxFormatError(
            path,
            f"images are {images.shape[1]}x{images.shape[2]}, expected {IMAGE_SIDE}x{IMAGE_SIDE}",
        )
    return images


def read_labels(path: Path | str) -> np.ndarray:
    """An MNIST label file: uint8, 1 dimension, values 0..9."""
    labels = _read_typed(path, np.dtype(np.uint8), ndim=1, kind="label")
    if labels.size and labels.max() >= CLASSES:
        bad = int(np.argmax(labels >= CLASSES))
        raise IdxFormatError(
            path, f"label {int(labels[bad])} at index {bad} is out of range (allowed: 0..{CLASSES - 1})"
        )
    return labels


def load_dataset(images_path: Path | str, labels_path: Path | str) -> Dataset:
    """An image file and its label file, checked to hold the same number of examples."""
    images = read_images(images_path)
    labels = read_labels(labels_path)
    if len(images) != len(labels):
        raise IdxFormatError(labels_path, f"{len(labels)} labels for {len(images)} images in {images_path}")
    if len(images) == 0:
        raise IdxFormatError(images_path, "the file holds 0 images")
    return Dataset(images, labels)


def save_dataset(dataset: Dataset, images_path: Path | str, labels_path: Path | str) -> None:
    write_idx(images_path, dataset.images)
    write_idx(labels_path, dataset.labels)


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IdxFormatError(path, "no such file") from None
    except IsADirectoryError:
        raise IdxFormatError(path, "is a directory, expected an IDX file") from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise IdxFormatError(path, f"corrupt or truncated gzip data ({e})") from e


def _read_typed(path: Path | str, dtype: np.dtype, *, ndim: int, kind: str) -> np.ndarray:
    array = read_idx(path)
    if array.dtype != dtype or array.ndim != ndim:
        raise IdxFormatError(
            path,
            f"expected an MNIST {kind} file ({dtype}, {ndim} dimensions), "
            f"got {array.dtype} with {array.ndim} dimensions {list(array.shape)}",
        )
    return array


def _type_code_for(dtype: np.dtype) -> int:
    for code, idx_dtype in _IDX_DTYPES.items():
        if idx_dtype.newbyteorder("=") == dtype.newbyteorder("="):
            return code
    allowed = ", ".join(str(d.newbyteorder("=")) for d in _IDX_DTYPES.values())
    raise ValueError(f"IDX cannot hold dtype {dtype} (allowed: {allowed})")


# ---------------------------------------------------------------------------------------------
# scikit-learn's digits, shaped like MNIST


def load_digits_as_mnist() -> Dataset:
    """scikit-learn's 1797 bundled 8x8 digits as MNIST-style 28x28 uint8 images.

    Each digit (0..16) is scaled to 0..1, bilinearly upscaled to 20x20 and centred in 28x28
    with a 4-pixel border, like MNIST's size-normalised digits; then stored as 0..255.
    """
    from sklearn.datasets import load_digits  # training/client only: not in the scoring image

    digits = load_digits()
    small = digits.images.astype(np.float64) / _DIGITS_MAX_VALUE
    return Dataset(_upscale_and_pad(small), digits.target.astype(np.uint8))


def _upscale_and_pad(small: np.ndarray) -> np.ndarray:
    resize = _linear_resize_matrix(_DIGITS_SIDE, _DIGIT_BOX_SIDE)
    boxes = resize @ small @ resize.T  # [n, 20, 20], separable bilinear interpolation
    border = (IMAGE_SIDE - _DIGIT_BOX_SIDE) // 2
    images = np.zeros((len(small), IMAGE_SIDE, IMAGE_SIDE), dtype=np.float64)
    images[:, border : border + _DIGIT_BOX_SIDE, border : border + _DIGIT_BOX_SIDE] = boxes
    return np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)


def _linear_resize_matrix(source: int, target: int) -> np.ndarray:
    """[target, source] weights of linear interpolation with pixel centres aligned (half-pixel)."""
    centres = (np.arange(target) + 0.5) * source / target - 0.5
    centres = np.clip(centres, 0, source - 1)
    left = np.floor(centres).astype(int)
    right = np.minimum(left + 1, source - 1)
    frac = centres - left
    weights = np.zeros((target, source))
    weights[np.arange(target), left] += 1.0 - frac
    weights[np.arange(target), right] += frac
    return weights


def split_digits() -> tuple[Dataset, Dataset]:
    """The digits as (training, held-out): what `train --digits` trains on and holds out by default."""
    return split(load_digits_as_mnist(), test_fraction=DIGITS_TEST_FRACTION, seed=DIGITS_SPLIT_SEED)


def split(dataset: Dataset, *, test_fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """A deterministic, stratified (per-class) train/test split: the same seed, the same split."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction: {test_fraction!r} is not allowed (allowed: 0 < x < 1)")
    rng = np.random.default_rng(seed)
    test_parts: list[np.ndarray] = []
    for digit in range(CLASSES):
        members = np.flatnonzero(dataset.labels == digit)
        rng.shuffle(members)
        test_parts.append(members[: round(len(members) * test_fraction)])
    test_mask = np.zeros(len(dataset), dtype=bool)
    test_mask[np.concatenate(test_parts)] = True
    return dataset.subset(np.flatnonzero(~test_mask)), dataset.subset(np.flatnonzero(test_mask))
