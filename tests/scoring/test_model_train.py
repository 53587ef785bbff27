"""The how-to's DNN (model_tools/model.py) and training (model_tools/train.py), for real.

The shared `trained_model_dir` fixture is the model every other scoring test uses; here it is
checked against the trained-model contract. Other tests train small models in tmp dirs.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model_tools import augment, mnist, train, training_options

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _run_train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "model_tools.train", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _load_serve(model_dir: Path):
    import tensorflow as tf

    return tf.saved_model.load(str(model_dir)).signatures["serve"]


def _predict(serve, images: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    (logits,) = serve(tf.constant(mnist.to_model_input(images))).values()
    return logits.numpy()


# --- the network -------------------------------------------------------------------------------


def test_model_is_784_300_100_10_with_relu_and_logits():
    import keras

    from model_tools.model import build_model

    model = build_model()
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]

    assert model.input_shape == (None, 784)
    assert [layer.units for layer in dense] == [300, 100, 10]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu", "linear"]
    sizes = [784, 300, 100, 10]
    assert model.count_params() == sum(a * b + b for a, b in itertools.pairwise(sizes))


# --- the shared trained model ------------------------------------------------------------------


@pytest.mark.slow
def test_trained_model_meets_the_contract(trained_model_dir: Path):
    import tensorflow as tf

    metadata = json.loads((trained_model_dir / "metadata.json").read_text())
    assert (trained_model_dir / "saved_model.pb").is_file()
    assert (trained_model_dir / "variables").is_dir()
    assert metadata["input_shape"] == [784]
    assert metadata["classes"] == 10
    assert metadata["format"] == "saved_model"
    assert metadata["tensorflow"] == tf.__version__
    assert metadata["accuracy"] >= 0.95

    serve = _load_serve(trained_model_dir)
    (spec,) = serve.structured_input_signature[1].values()
    assert spec.dtype == tf.float32 and spec.shape.as_list() == [None, 784]
    (output,) = serve.structured_outputs.values()
    assert output.dtype == tf.float32 and output.shape.as_list() == [None, 10]


@pytest.mark.slow
def test_recorded_accuracy_and_data_hash_are_those_of_the_held_out_digits(trained_model_dir: Path):
    metadata = json.loads((trained_model_dir / "metadata.json").read_text())
    train_set, test_set = mnist.split_digits()

    predictions = np.argmax(_predict(_load_serve(trained_model_dir), test_set.images), axis=1)

    assert np.mean(predictions == test_set.labels) == pytest.approx(metadata["accuracy"], abs=1e-6)
    assert metadata["data_sha256"] == train_set.sha256()
    assert metadata["test_examples"] == len(test_set)


# --- training in-process: determinism, replacement, cleanup ------------------------------------


@pytest.fixture(scope="module")
def small_split() -> tuple[mnist.Dataset, mnist.Dataset]:
    train_set, test_set = mnist.split(mnist.load_digits_as_mnist(), test_fraction=0.2, seed=0)
    return train_set.subset(np.arange(300)), test_set.subset(np.arange(100))


def _variables(model_dir: Path) -> list[np.ndarray]:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(model_dir))
    return [v.numpy() for v in sorted(loaded.variables, key=lambda v: v.name)]


@pytest.mark.slow
def test_same_seed_same_model_and_different_seed_different_model(tmp_path: Path, small_split, capsys):
    train_set, test_set = small_split
    options = training_options.TrainingOptions(epochs=2, seed=7)

    first = train.train_and_save(train_set, test_set, tmp_path / "a", options, source="digits")
    second = train.train_and_save(train_set, test_set, tmp_path / "b", options, source="digits")
    train.train_and_save(
        train_set,
        test_set,
        tmp_path / "c",
        training_options.TrainingOptions(epochs=2, seed=8),
        source="digits",
    )

    assert first == second
    for a, b in zip(_variables(tmp_path / "a"), _variables(tmp_path / "b"), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, c)
        for a, c in zip(_variables(tmp_path / "a"), _variables(tmp_path / "c"), strict=True)
    )
    progress = capsys.readouterr().out
    assert "epoch   1/2" in progress and "epoch   2/2" in progress


@pytest.mark.slow
def test_training_again_replaces_a_previous_model_and_leaves_no_staging(tmp_path: Path, small_split):
    train_set, test_set = small_split
    out = tmp_path / "model"
    train.train_and_save(
        train_set, test_set, out, training_options.TrainingOptions(epochs=1, seed=1), source="digits"
    )
    before = _variables(out)

    metadata = train.train_and_save(
        train_set, test_set, out, training_options.TrainingOptions(epochs=1, seed=2), source="digits"
    )

    assert json.loads((out / "metadata.json").read_text()) == metadata
    assert metadata["seed"] == 2
    assert any(not np.array_equal(a, b) for a, b in zip(before, _variables(out), strict=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


@pytest.mark.slow
def test_a_failure_after_export_leaves_nothing_behind(tmp_path: Path, small_split, monkeypatch):
    """The export's self-check is made to fail: neither the model dir nor a staging dir remains."""
    train_set, test_set = small_split

    def broken_check(*_args: object) -> float:
        raise RuntimeError("exported model unreadable")

    monkeypatch.setattr(train, "_exported_accuracy", broken_check)

    with pytest.raises(RuntimeError, match="exported model unreadable"):
        train.train_and_save(
            train_set,
            test_set,
            tmp_path / "model",
            training_options.TrainingOptions(epochs=1),
            source="digits",
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("field", "value"), [("epochs", 0), ("batch_size", -1), ("epochs", 1.5), ("learning_rate", 0.0)]
)
def test_training_options_name_the_bad_field(field: str, value: object):
    with pytest.raises(ValueError, match=rf"{field}: {value!r} is not allowed"):
        training_options.TrainingOptions(**{field: value})


# --- the command line --------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_trains_on_idx_files_with_separate_test_files(tmp_path: Path, small_split):
    train_set, test_set = small_split
    mnist.save_dataset(train_set, tmp_path / "train-images.gz", tmp_path / "train-labels.gz")
    mnist.save_dataset(test_set, tmp_path / "test-images", tmp_path / "test-labels")
    out = tmp_path / "model"

    result = _run_train(
        "--images", str(tmp_path / "train-images.gz"), "--labels", str(tmp_path / "train-labels.gz"),
        "--test-images", str(tmp_path / "test-images"), "--test-labels", str(tmp_path / "test-labels"),
        "--epochs", "3", "--seed", "5", "--out", str(out),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "epoch   3/3" in result.stdout
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["source"] == "idx"
    assert metadata["data_sha256"] == train_set.sha256()
    assert (metadata["train_examples"], metadata["test_examples"]) == (len(train_set), len(test_set))
    predictions = np.argmax(_predict(_load_serve(out), test_set.images), axis=1)
    assert np.mean(predictions == test_set.labels) == pytest.approx(metadata["accuracy"], abs=1e-6)


def test_cli_corrupt_idx_file_is_named_and_nothing_is_written(tmp_path: Path):
    (tmp_path / "images").write_bytes(b"\x00\x00\x08\x03" + bytes(5))
    mnist.write_idx(tmp_path / "labels", np.zeros(2, dtype=np.uint8))

    result = _run_train(
        "--images", str(tmp_path / "images"), "--labels", str(tmp_path / "labels"),
        "--out", str(tmp_path / "model"),
    )  # fmt: skip

    assert result.returncode == 2
    assert f"error: {tmp_path / 'images'}: truncated header" in result.stderr
    assert not (tmp_path / "model").exists()


def test_cli_refuses_to_overwrite_a_directory_that_is_not_a_model(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("keep me")

    result = _run_train("--digits", "--out", str(tmp_path))

    assert result.returncode == 2
    assert "holds files that are not a model (notes.txt)" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x"], "one of the arguments --digits --images is required"),
        (["--images", "i", "--out", "x"], "--images needs --labels"),
        (["--digits", "--labels", "l", "--out", "x"], "--labels goes with --images"),
        (["--digits", "--test-images", "t", "--out", "x"], "--test-images and --test-labels go together"),
        (["--digits", "--epochs", "0", "--out", "x"], "epochs: 0 is not allowed"),
    ],
)
def test_cli_usage_errors(tmp_path: Path, args: list[str], message: str):
    out = tmp_path / "model"
    result = _run_train(*[str(out) if arg == "x" else arg for arg in args])

    assert result.returncode == 2
    assert message in result.stderr
    assert not out.exists()


# --- early stopping, batch size, the MNIST-sized set -------------------------------------------


@pytest.mark.parametrize("examples", [1, 100, 1_294, 12_800, 54_000, 1_000_000])
def test_batch_size_fits_the_set_about_400_steps_per_epoch_within_32_to_256(examples: int):
    batch = training_options.batch_size_for(examples)

    assert batch & (batch - 1) == 0 and 32 <= batch <= 256
    if 32 < batch < 256:
        assert 400 / 2**0.5 <= examples / batch <= 400 * 2**0.5
    assert training_options.batch_size_for(examples * 4) >= batch


@pytest.mark.slow
def test_early_stopping_stops_and_restores_the_best_epochs_weights(tmp_path: Path, small_split, capsys):
    import keras
    import tensorflow as tf

    train_set, test_set = small_split
    # A large step on 300 images: the validation accuracy stops rising within a few epochs.
    options = training_options.TrainingOptions(
        epochs=30, patience=2, learning_rate=0.01, validation_fraction=0.2, early_stopping_min_examples=0
    )

    metadata = train.train_and_save(train_set, test_set, tmp_path / "model", options, source="digits")

    progress = capsys.readouterr().out
    val_losses = [float(v) for v in re.findall(r"val_loss (\d+\.\d+)", progress)]
    assert len(val_losses) == metadata["epochs_run"] < options.epochs
    assert metadata["epochs_run"] == metadata["best_epoch"] + options.patience
    _, validation_set = mnist.split(train_set, test_fraction=0.2, seed=options.seed)
    assert metadata["validation_examples"] == len(validation_set) > 0
    assert metadata["train_examples"] == len(train_set)
    # The exported weights are the best epoch's: their validation loss is that epoch's, not the last's.
    serve = _load_serve(tmp_path / "model")
    (logits,) = serve(tf.constant(mnist.to_model_input(validation_set.images))).values()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(validation_set.labels, logits)
    assert float(loss) == pytest.approx(val_losses[metadata["best_epoch"] - 1], abs=1e-3)
    assert abs(val_losses[-1] - float(loss)) > 1e-3


@pytest.mark.slow
def test_a_set_under_the_early_stopping_minimum_trains_every_epoch_on_every_image(
    tmp_path: Path, small_split
):
    train_set, test_set = small_split

    metadata = train.train_and_save(
        train_set, test_set, tmp_path / "model", training_options.TrainingOptions(epochs=2), source="digits"
    )

    assert len(train_set) < training_options.DEFAULT_EARLY_STOPPING_MIN_EXAMPLES
    assert (metadata["epochs_run"], metadata["validation_examples"]) == (2, 0)
    assert metadata["batch_size"] == training_options.batch_size_for(len(train_set))


def test_augmented_set_keeps_each_images_label_and_is_reproducible():
    train_digits, _ = mnist.split_digits()
    source = train_digits.subset(np.arange(50))
    still = augment.Distortion(0.0, 0.0, 0.0, 0.0)

    undistorted = augment.augmented(source, 200, seed=3, distortion=still)
    distorted = augment.augmented(source, 200, seed=3)

    by_image = {image.tobytes(): label for image, label in zip(source.images, source.labels, strict=True)}
    assert all(
        by_image[image.tobytes()] == label
        for image, label in zip(undistorted.images, undistorted.labels, strict=True)
    )
    np.testing.assert_array_equal(distorted.labels, undistorted.labels)  # same picks, same seed
    assert np.mean(distorted.images != undistorted.images) > 0.2
    assert distorted.sha256() == augment.augmented(source, 200, seed=3).sha256()
    assert distorted.sha256() != augment.augmented(source, 200, seed=4).sha256()


def test_cli_writes_an_mnist_sized_set_that_training_reads_as_idx(tmp_path: Path):
    assert augment.main(["--train", "120", "--test", "30", "--out", str(tmp_path)]) == 0

    train_set = mnist.load_dataset(tmp_path / augment.TRAIN_IMAGES, tmp_path / augment.TRAIN_LABELS)
    test_set = mnist.load_dataset(tmp_path / augment.TEST_IMAGES, tmp_path / augment.TEST_LABELS)
    assert (len(train_set), len(test_set)) == (120, 30)
    assert set(np.unique(train_set.labels)) <= set(range(10))
