"""The IDX format (model_tools/mnist.py): files written here, read back, and broken on purpose."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from model_tools import mnist
from model_tools.mnist import IdxFormatError


def _mnist_like(count: int, seed: int = 0) -> mnist.Dataset:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=count, dtype=np.uint8)
    return mnist.Dataset(images, labels)


def _header(type_code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_dataset_round_trip_plain_and_gzip(tmp_path: Path, name: str):
    dataset = _mnist_like(7)
    images_path, labels_path = tmp_path / name, tmp_path / name.replace("images", "labels")
    mnist.save_dataset(dataset, images_path, labels_path)

    loaded = mnist.load_dataset(images_path, labels_path)

    np.testing.assert_array_equal(loaded.images, dataset.images)
    np.testing.assert_array_equal(loaded.labels, dataset.labels)
    assert (images_path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")


def test_written_header_is_mnists_big_endian_layout(tmp_path: Path):
    dataset = _mnist_like(3)
    mnist.save_dataset(dataset, tmp_path / "i", tmp_path / "l")

    images_raw, labels_raw = (tmp_path / "i").read_bytes(), (tmp_path / "l").read_bytes()

    assert struct.unpack(">IIII", images_raw[:16]) == (0x00000803, 3, 28, 28)
    assert images_raw[16:] == dataset.images.tobytes()
    assert struct.unpack(">II", labels_raw[:8]) == (0x00000801, 3)
    assert labels_raw[8:] == dataset.labels.tobytes()


def test_gzip_is_recognised_by_content_not_by_name(tmp_path: Path):
    labels = np.arange(10, dtype=np.uint8)
    compressed = tmp_path / "labels.idx"  # no .gz suffix
    compressed.write_bytes(gzip.compress(_header(0x08, (10,)) + labels.tobytes()))

    np.testing.assert_array_equal(mnist.read_labels(compressed), labels)


_IDX_DTYPES = st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])


@settings(max_examples=40, deadline=None)
@given(
    array=hnp.arrays(
        dtype=_IDX_DTYPES,
        shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
        elements={"allow_nan": False},
    ),
    compressed=st.booleans(),
)
def test_any_idx_array_round_trips(tmp_path_factory: pytest.TempPathFactory, array, compressed: bool):
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if compressed else "a.idx")
    mnist.write_idx(path, array)

    loaded = mnist.read_idx(path)

    assert loaded.dtype == array.dtype.newbyteorder("=")
    assert loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)


def test_write_refuses_a_dtype_idx_cannot_hold(tmp_path: Path):
    with pytest.raises(ValueError, match=r"IDX cannot hold dtype int64 \(allowed: uint8"):
        mnist.write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


# --- broken and foreign files ------------------------------------------------------------------


def _write(tmp_path: Path, raw: bytes, name: str = "broken-idx") -> Path:
    path = tmp_path / name
    path.write_bytes(raw)
    return path


_GOOD_LABELS = _header(0x08, (4,)) + bytes([1, 2, 3, 4])

_CORRUPTIONS = {
    "empty": (b"", "truncated header: 0 bytes"),
    "short magic": (b"\x00\x00\x08", "truncated header: 3 bytes"),
    "foreign (PNG)": (b"\x89PNG\r\n\x1a\n" + bytes(20), "not an IDX file: magic starts with 0x89504e47"),
    "unknown type code": (_header(0x07, (4,)) + bytes(4), "unknown IDX type code 0x07"),
    "zero dimensions": (b"\x00\x00\x08\x00", "declares 0 dimensions"),
    "truncated dimensions": (b"\x00\x00\x08\x03" + struct.pack(">I", 5), "3 dimensions need 16 bytes"),
    "truncated data": (_GOOD_LABELS[:-1], r"truncated data: shape \[4\] needs 4 bytes, the file has 3"),
    "trailing bytes": (_GOOD_LABELS + b"\x00\x00", r"2 unexpected bytes after the data of shape \[4\]"),
    "truncated gzip": (gzip.compress(_GOOD_LABELS)[:-6], "corrupt or truncated gzip data"),
    "corrupt gzip": (b"\x1f\x8b" + bytes(30), "corrupt or truncated gzip data"),
}


@pytest.mark.parametrize("case", list(_CORRUPTIONS), ids=list(_CORRUPTIONS))
def test_broken_file_error_names_the_file_and_the_problem(tmp_path: Path, case: str):
    raw, problem = _CORRUPTIONS[case]
    path = _write(tmp_path, raw)

    with pytest.raises(IdxFormatError, match=problem) as caught:
        mnist.read_idx(path)

    assert str(caught.value).startswith(f"{path}: ")
    assert caught.value.path == path


def test_missing_file_is_named(tmp_path: Path):
    with pytest.raises(IdxFormatError, match="no such file") as caught:
        mnist.read_idx(tmp_path / "absent.gz")
    assert str(tmp_path / "absent.gz") in str(caught.value)


def test_label_file_given_as_images_is_refused(tmp_path: Path):
    path = _write(tmp_path, _GOOD_LABELS, "labels")

    with pytest.raises(IdxFormatError, match=r"expected an MNIST image file \(uint8, 3 dimensions\)"):
        mnist.read_images(path)


def test_images_of_the_wrong_size_are_refused(tmp_path: Path):
    path = tmp_path / "small-images"
    mnist.write_idx(path, np.zeros((2, 8, 8), dtype=np.uint8))

    with pytest.raises(IdxFormatError, match="images are 8x8, expected 28x28"):
        mnist.read_images(path)


def test_float_labels_are_refused(tmp_path: Path):
    path = tmp_path / "float-labels"
    mnist.write_idx(path, np.zeros(3, dtype=np.float32))

    with pytest.raises(IdxFormatError, match="expected an MNIST label file"):
        mnist.read_labels(path)


def test_label_out_of_range_is_named_with_its_index(tmp_path: Path):
    path = tmp_path / "labels"
    mnist.write_idx(path, np.array([3, 9, 10, 2], dtype=np.uint8))

    with pytest.raises(IdxFormatError, match=r"label 10 at index 2 is out of range \(allowed: 0..9\)"):
        mnist.read_labels(path)


def test_image_and_label_counts_must_match(tmp_path: Path):
    dataset = _mnist_like(5)
    mnist.write_idx(tmp_path / "images", dataset.images)
    mnist.write_idx(tmp_path / "labels", dataset.labels[:4])

    with pytest.raises(IdxFormatError, match="4 labels for 5 images"):
        mnist.load_dataset(tmp_path / "images", tmp_path / "labels")


# --- the digits stand-in and the split ---------------------------------------------------------


@pytest.fixture(scope="module")
def digits() -> mnist.Dataset:
    return mnist.load_digits_as_mnist()


def test_digits_look_like_mnist(digits: mnist.Dataset):
    from sklearn.datasets import load_digits

    source = load_digits()
    assert digits.images.shape == (len(source.target), 28, 28)
    assert digits.images.dtype == np.uint8
    np.testing.assert_array_equal(digits.labels, source.target)
    # MNIST's layout: ink only inside the central 20x20 box, full range of intensities.
    border = np.ones((28, 28), dtype=bool)
    border[4:24, 4:24] = False
    assert not digits.images[:, border].any()
    assert digits.images.max() == 255


def test_upscaling_keeps_the_digits_shape(digits: mnist.Dataset):
    """Downscaling the 20x20 box back to 8x8 (block means) resembles the original 8x8 image."""
    from sklearn.datasets import load_digits

    original = load_digits().images / 16.0
    box = digits.images[:, 4:24, 4:24].astype(np.float64) / 255.0
    # 20 -> 8 is 2.5 px per source pixel: sample the box at the source pixel centres instead.
    centres = np.round((np.arange(8) + 0.5) * 2.5 - 0.5).astype(int)
    sampled = box[:, centres][:, :, centres]
    correlation = np.corrcoef(sampled.ravel(), original.ravel())[0, 1]
    assert correlation > 0.95


def test_model_input_is_784_floats_in_0_1(digits: mnist.Dataset):
    pixels = mnist.to_model_input(digits.images[:5])

    assert pixels.shape == (5, 784) and pixels.dtype == np.float32
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0
    np.testing.assert_allclose(pixels[0] * 255, digits.images[0].ravel())


def test_split_is_deterministic_stratified_and_disjoint(digits: mnist.Dataset):
    train_a, test_a = mnist.split(digits, test_fraction=0.2, seed=3)
    train_b, test_b = mnist.split(digits, test_fraction=0.2, seed=3)
    _, test_other = mnist.split(digits, test_fraction=0.2, seed=4)

    np.testing.assert_array_equal(test_a.images, test_b.images)
    np.testing.assert_array_equal(train_a.labels, train_b.labels)
    assert not np.array_equal(test_a.images, test_other.images)
    # A partition: together, train and test hold every example exactly once.
    parts = sorted(row.tobytes() for part in (train_a, test_a) for row in part.images)
    assert parts == sorted(row.tobytes() for row in digits.images)
    for digit in range(10):
        share = np.sum(test_a.labels == digit) / np.sum(digits.labels == digit)
        assert share == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_refuses_a_fraction_outside_0_1(digits: mnist.Dataset, fraction: float):
    with pytest.raises(
        ValueError, match=rf"test_fraction: {fraction!r} is not allowed \(allowed: 0 < x < 1\)"
    ):
        mnist.split(digits, test_fraction=fraction, seed=0)


def test_dataset_rejects_mismatched_arrays():
    with pytest.raises(ValueError, match=r"labels: expected uint8 \[2\]"):
        mnist.Dataset(np.zeros((2, 28, 28), np.uint8), np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match=r"images: expected uint8 \[n, 28, 28\]"):
        mnist.Dataset(np.zeros((2, 28, 28), np.float32), np.zeros(2, np.uint8))


def test_a_forged_header_claiming_huge_dimensions_is_truncated_data(tmp_path: Path):
    path = _write(tmp_path, _header(0x0E, (2**32 - 1,) * 8) + bytes(16))

    with pytest.raises(IdxFormatError, match="truncated data: shape"):
        mnist.read_idx(path)
