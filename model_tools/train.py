"""Train the how-to's DNN and write it where the inference server loads it fast.

    python -m model_tools.train --digits --out DIR
    python -m model_tools.train --images train-images-idx3-ubyte.gz --labels train-labels-idx1-ubyte.gz \
        [--test-images F --test-labels F] --out DIR

Output contract (what score.py and the deployment rely on): DIR holds a TensorFlow SavedModel
exported with Keras 3 `model.export(DIR)` (`saved_model.pb` + `variables/`; endpoint `serve`:
float32 [None, 784] pixels in 0..1 -> float32 [None, 10] logits) and `metadata.json`
(`input_shape`, `classes`, `accuracy` on held-out data, `data_sha256` of the training data,
`format`, `tensorflow`, plus how it was trained). A SavedModel loads several times faster than a
`.keras` file (docs/model.md), which is why the server gets the former.

DIR appears complete or not at all: the model is built in a sibling directory and renamed into
place; an existing DIR is replaced only if it holds a previous model (or nothing).

Training stops early: a stratified `--validation-fraction` of the training set is set aside, and
training ends when the validation accuracy has not risen by 0.1 points for `--patience` epochs
(at most `--epochs`; the learning rate drops to a fifth after each epoch whose validation loss
did not improve), with the best epoch's weights restored (Keras EarlyStopping). `--patience 0`,
or a training set under 10,000 images, trains all `--epochs` on the whole training set instead.
The batch size fits the set (see `batch_size_for`) unless `--batch-size` is given. Every epoch
prints its time.

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
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from model_tools import mnist
from model_tools.model_dir import METADATA_FILE, check_replaceable, replace_dir
from model_tools.training_options import (
    DEFAULT_EPOCHS,
    DEFAULT_PATIENCE,
    DEFAULT_SEED,
    DEFAULT_TEST_FRACTION,
    DEFAULT_VALIDATION_FRACTION,
    MIN_ACCURACY_GAIN,
    TrainingOptions,
    batch_size_for,
)


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
    check_replaceable(out_dir)
    staging = out_dir.with_name(f".{out_dir.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        metadata = _train_into(
            staging, train_set, test_set, options, source=source, progress=progress or sys.stdout
        )
        replace_dir(staging, out_dir)
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

    from model_tools.model import build_model

    keras.utils.set_random_seed(options.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_model(learning_rate=options.learning_rate)
    fit_set, validation_set = _validation_split(train_set, options)
    batch_size = options.batch_size or batch_size_for(len(fit_set))
    stopping = f"early stopping (patience {options.patience})" if validation_set else "no early stopping"
    print(
        f"training on {len(fit_set)} {source} images, validating on {len(validation_set or ())}, "
        f"testing on {len(test_set)}, at most {options.epochs} epochs, {stopping}, batch {batch_size}, "
        f"seed {options.seed}",
        file=progress,
        flush=True,
    )
    callbacks = [_epoch_progress(options.epochs, progress)]
    if validation_set is not None:
        early_stopping = keras.callbacks.EarlyStopping(
            monitor="val_accuracy",
            min_delta=MIN_ACCURACY_GAIN,
            patience=options.patience,
            restore_best_weights=True,
        )
        # Before giving up on a plateau, a smaller step often finds a lower validation loss.
        slow_down = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=1)
        callbacks[:0] = [slow_down, early_stopping]
    started = time.perf_counter()
    history = model.fit(
        mnist.to_model_input(fit_set.images),
        fit_set.labels,
        validation_data=None
        if validation_set is None
        else (mnist.to_model_input(validation_set.images), validation_set.labels),
        epochs=options.epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    fit_seconds = time.perf_counter() - started
    epochs_run = len(history.epoch)
    best_epoch = epochs_run if validation_set is None else early_stopping.best_epoch + 1
    print(
        f"trained {epochs_run} epochs in {fit_seconds:.1f} s ({fit_seconds / epochs_run:.2f} s per epoch); "
        f"weights of epoch {best_epoch}",
        file=progress,
        flush=True,
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
        "validation_examples": len(validation_set or ()),
        "test_examples": len(test_set),
        "epochs": options.epochs,
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "patience": options.patience,
        "batch_size": batch_size,
        "seed": options.seed,
    }
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return metadata


def _validation_split(
    train_set: mnist.Dataset, options: TrainingOptions
) -> tuple[mnist.Dataset, mnist.Dataset | None]:
    """(images to fit, images early stopping watches); no validation set without early stopping."""
    if options.patience == 0 or len(train_set) < options.early_stopping_min_examples:
        return train_set, None
    return mnist.split(train_set, test_fraction=options.validation_fraction, seed=options.seed)


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
            validation = (
                f"val_loss {logs['val_loss']:.4f}  val_accuracy {logs['val_accuracy']:.4f}  "
                if "val_loss" in logs
                else ""
            )
            print(
                f"epoch {epoch + 1:>3}/{epochs}  loss {logs.get('loss', float('nan')):.4f}  "
                f"accuracy {logs.get('accuracy', float('nan')):.4f}  {validation}"
                f"({time.perf_counter() - self.started:.1f} s)",
                file=stream,
                flush=True,
            )

    return EpochProgress()


# ---------------------------------------------------------------------------------------------
# Command line


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m model_tools.train",
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
    parser.add_argument(
        "--epochs", type=int, default=DEFAULT_EPOCHS, help=f"at most (default {DEFAULT_EPOCHS})"
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=DEFAULT_PATIENCE,
        help=f"stop after this many epochs without a better validation accuracy; 0: run all --epochs "
        f"on all training images (default {DEFAULT_PATIENCE})",
    )
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=DEFAULT_VALIDATION_FRACTION,
        help=f"share of the training images early stopping watches (default {DEFAULT_VALIDATION_FRACTION})",
    )
    parser.add_argument("--batch-size", type=int, help="default: fitted to the set size (32..256)")
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
            epochs=args.epochs,
            batch_size=args.batch_size,
            patience=args.patience,
            validation_fraction=args.validation_fraction,
            seed=args.seed,
            learning_rate=args.learning_rate,
        )
        check_replaceable(args.out)  # before loading data: a refusal should be quick
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
