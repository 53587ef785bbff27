"""Train the how-to's DNN and write it where the inference server loads it fast.

    python -m model_service.train --digits --out DIR
    python -m model_service.train --images train-images-idx3-ubyte.gz --labels train-labels-idx1-ubyte.gz \
        [--test-images F --test-labels F] --out DIR

Output contract (what score.py and the deployment rely on): DIR holds a TensorFlow SavedModel
exported with Keras 3 `model.export(DIR)` (`saved_model.pb` + `variables/`; endpoint `serve`:
float32 [None, 784] pixels in 0..1 -> float32 [None, 10] logits) and `metadata.json`
(`input_shape`, `classes`, `accuracy` on held-out data, `data_sha256` of the training data,
`format`, `tensorflow`, plus how it was trained). A SavedModel loads in ~85 ms, a `.keras` file
in ~300 ms, which is why the server gets the former.

DIR appears complete or not at all: the model is built in a sibling directory and renamed into
place; an existing DIR is replaced only if it holds a previous model (or nothing).

The same seed and data give the same model: Keras is seeded and TensorFlow's ops run
deterministically. Exit status: 0 trained, 2 bad arguments or input files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from model_service import mnist

DEFAULT_EPOCHS = 20
DEFAULT_BATCH_SIZE = 32
DEFAULT_SEED = 0
DEFAULT_TEST_FRACTION = 0.2
METADATA_FILE = "metadata.json"
# What a previous run of this script leaves in DIR: only such a directory may be replaced.
_MODEL_ENTRIES = frozenset({"saved_model.pb", "variables", "assets", "fingerprint.pb", METADATA_FILE})


@dataclass(frozen=True)
class TrainingOptions:
    epochs: int = DEFAULT_EPOCHS
    batch_size: int = DEFAULT_BATCH_SIZE
    seed: int = DEFAULT_SEED
    learning_rate: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {value!r} is not allowed (allowed: an integer >= 1)")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate: {self.learning_rate!r} is not allowed (allowed: > 0)")


def train_and_save(
    train_set: mnist.Dataset,
    test_set: mnist.Dataset,
    out_dir: Path,
    options: TrainingOptions,
    *,
    source: str,
    progress: TextIO | None = None,
) -> dict[str, Any]:
    """Train on `train_set`, export to `out_dir`, and return the metadata written beside it.

    The accuracy recorded is that of the exported SavedModel's `serve` endpoint on `test_set`,
    so it checks the artifact the server will load, not just the in-memory model. Progress
    lines go to `progress` (default: the current sys.stdout).
    """
    _check_replaceable(out_dir)
    staging = out_dir.with_name(f".{out_dir.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        metadata = _train_into(
            staging, train_set, test_set, options, source=source, progress=progress or sys.stdout
        )
        _replace_dir(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return metadata


def _train_into(
    directory: Path,
    train_set: mnist.Dataset,
    test_set: mnist.Dataset,
    options: TrainingOptions,
    *,
    source: str,
    progress: TextIO,
) -> dict[str, Any]:
    import keras
    import tensorflow as tf

    from model_service.model import build_model

    keras.utils.set_random_seed(options.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_model(learning_rate=options.learning_rate)
    print(
        f"training on {len(train_set)} {source} images, testing on {len(test_set)}, "
        f"{options.epochs} epochs, batch {options.batch_size}, seed {options.seed}",
        file=progress,
        flush=True,
    )
    model.fit(
        mnist.to_model_input(train_set.images),
        train_set.labels,
        epochs=options.epochs,
        batch_size=options.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=[_epoch_progress(options.epochs, progress)],
    )
    model.export(str(directory), verbose=False)
    accuracy = _exported_accuracy(directory, test_set)
    print(f"held-out accuracy of the exported model: {accuracy:.4f}", file=progress, flush=True)
    metadata: dict[str, Any] = {
        "input_shape": [mnist.IMAGE_PIXELS],
        "classes": mnist.CLASSES,
        "accuracy": round(accuracy, 6),
        "data_sha256": train_set.sha256(),
        "format": "saved_model",
        "tensorflow": tf.__version__,
        "source": source,
        "train_examples": len(train_set),
        "test_examples": len(test_set),
        "epochs": options.epochs,
        "batch_size": options.batch_size,
        "seed": options.seed,
    }
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata


def _exported_accuracy(directory: Path, test_set: mnist.Dataset) -> float:
    import tensorflow as tf

    serve = tf.saved_model.load(str(directory)).signatures["serve"]
    (logits,) = serve(tf.constant(mnist.to_model_input(test_set.images))).values()
    predictions = np.argmax(logits.numpy(), axis=1)
    return float(np.mean(predictions == test_set.labels))


def _epoch_progress(epochs: int, stream: TextIO) -> Any:
    """A Keras callback printing one line per epoch (Keras' own bar floods captured logs)."""
    import keras  # here, not at the top: importing this module must not import TensorFlow

    class EpochProgress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            logs = logs or {}
            print(
                f"epoch {epoch + 1:>3}/{epochs}  loss {logs.get('loss', float('nan')):.4f}  "
                f"accuracy {logs.get('accuracy', float('nan')):.4f}  "
                f"({time.perf_counter() - self.started:.1f} s)",
                file=stream,
                flush=True,
            )

    return EpochProgress()


def _check_replaceable(out_dir: Path) -> None:
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ValueError(f"--out: {out_dir} exists and is not a directory")
    foreign = sorted(entry.name for entry in out_dir.iterdir() if entry.name not in _MODEL_ENTRIES)
    if foreign:
        raise ValueError(
            f"--out: {out_dir} holds files that are not a model ({', '.join(foreign[:5])}); "
            "allowed: a new path, an empty directory or a previous model directory"
        )


def _replace_dir(new: Path, target: Path) -> None:
    if not target.exists():
        new.rename(target)
        return
    retired = target.with_name(f".{target.name}.retired-{os.getpid()}")
    target.rename(retired)
    new.rename(target)
    shutil.rmtree(retired, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Command line


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m model_service.train",
        description="Train the 784-300-100-10 DNN and export it as a SavedModel plus metadata.json.",
    )
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--digits", action="store_true", help="scikit-learn's bundled digits, as 28x28")
    data.add_argument("--images", type=Path, help="IDX image file (gzip or plain), e.g. MNIST's")
    parser.add_argument("--labels", type=Path, help="IDX label file matching --images")
    parser.add_argument("--test-images", type=Path, help="held-out IDX images (default: split off)")
    parser.add_argument("--test-labels", type=Path, help="held-out IDX labels matching --test-images")
    parser.add_argument(
        "--test-fraction",
        type=float,
        default=DEFAULT_TEST_FRACTION,
        help=f"share held out when no test files are given (default {DEFAULT_TEST_FRACTION})",
    )
    parser.add_argument("--out", type=Path, required=True, help="model directory to write")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"default {DEFAULT_EPOCHS}")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="same seed, same model")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    args = parser.parse_args(argv)
    if args.images is not None and args.labels is None:
        parser.error("--images needs --labels")
    if args.digits and args.labels is not None:
        parser.error("--labels goes with --images, not --digits")
    if (args.test_images is None) != (args.test_labels is None):
        parser.error("--test-images and --test-labels go together")
    return args


def _load_data(args: argparse.Namespace) -> tuple[mnist.Dataset, mnist.Dataset, str]:
    if args.digits:
        data, source = mnist.load_digits_as_mnist(), "digits"
    else:
        data, source = mnist.load_dataset(args.images, args.labels), "idx"
    if args.test_images is not None:
        return data, mnist.load_dataset(args.test_images, args.test_labels), source
    train_set, test_set = mnist.split(data, test_fraction=args.test_fraction, seed=args.seed)
    return train_set, test_set, source


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    try:
        options = TrainingOptions(
            epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, learning_rate=args.learning_rate
        )
        _check_replaceable(args.out)  # before loading data: a refusal should be quick
        train_set, test_set, source = _load_data(args)
    except ValueError as e:  # IdxFormatError included
        print(f"error: {e}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    metadata = train_and_save(train_set, test_set, args.out, options, source=source)
    print(
        f"wrote {args.out} (accuracy {metadata['accuracy']:.4f}) in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
