"""Query a deployed MNIST service: the how-to's sample query, and batch scoring with accuracy.

    python -m model_tools.client --uri http://127.0.0.1:5001/score            # one random image
    python -m model_tools.client --uri URI --key KEY --images F --labels F     # ... from IDX files
    python -m model_tools.client --uri URI --batch [--confusion-png F]         # the whole test set

Requests are the how-to's JSON, `{"data": [[784 floats in 0..1], ...]}`, answered by a JSON list
of predicted digits. With a key (`--key`, or the SCORING_KEY environment variable, which keeps it
out of the process list) every request carries `Authorization: Bearer <key>`. Without IDX files
the images are the digits `python -m model_tools.train --digits` holds out
(`mnist.split_digits`), so batch accuracy is measured on images the model never saw.

Errors are client_request.py's `ClientError` kinds, each with its exit status (3: unreachable,
4: key refused, 5: other service errors or a bad answer); also 0 done, 1 batch accuracy under
--min-accuracy, 2 bad arguments or input files. A key never appears in an error message.

The plotting (matplotlib) and digits (scikit-learn) imports happen only when used.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from model_tools import mnist
from model_tools.client_request import (
    DEFAULT_TIMEOUT_S,
    ClientError,
    score_images,
)

DEFAULT_URI = "http://127.0.0.1:5001/score"
DEFAULT_BATCH_SIZE = 64
KEY_ENVIRONMENT_VARIABLE = "SCORING_KEY"

EXIT_OK = 0
EXIT_BELOW_MIN_ACCURACY = 1
EXIT_USAGE = 2

# ---------------------------------------------------------------------------------------------
# The sample query and batch scoring


@dataclass(frozen=True)
class SampleResult:
    index: int
    label: int
    prediction: int
    latency_ms: float

    @property
    def correct(self) -> bool:
        return self.label == self.prediction


def load_test_set(images: Path | str | None = None, labels: Path | str | None = None) -> mnist.Dataset:
    """IDX test files when given (both), else the digits `train --digits` held out."""
    if (images is None) != (labels is None):
        raise ValueError("images and labels go together: give both IDX files or neither")
    if images is not None and labels is not None:
        return mnist.load_dataset(images, labels)
    return mnist.split_digits()[1]


def sample_query(
    uri: str,
    key: str | None = None,
    *,
    dataset: mnist.Dataset | None = None,
    seed: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> SampleResult:
    """The how-to's sample query: one random test image, its label and the service's prediction."""
    dataset = dataset if dataset is not None else load_test_set()
    index = int(np.random.default_rng(seed).integers(len(dataset)))
    started = time.perf_counter()
    (prediction,) = score_images(uri, dataset.images[index : index + 1], key=key, timeout=timeout)
    latency_ms = (time.perf_counter() - started) * 1000.0
    return SampleResult(index, int(dataset.labels[index]), int(prediction), latency_ms)


@dataclass(frozen=True)
class BatchReport:
    """What scoring a whole labelled set measured; `confusion[label, prediction]` counts."""

    predictions: np.ndarray
    labels: np.ndarray
    latencies_ms: np.ndarray  # one per request
    batch_size: int

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predictions == self.labels))

    @property
    def confusion(self) -> np.ndarray:
        matrix = np.zeros((mnist.CLASSES, mnist.CLASSES), dtype=np.int64)
        np.add.at(matrix, (self.labels.astype(np.int64), self.predictions), 1)
        return matrix

    def latency_percentile_ms(self, percentile: float) -> float:
        return float(np.percentile(self.latencies_ms, percentile))

    def summary(self) -> str:
        return (
            f"accuracy {self.accuracy:.4f} ({int(np.sum(self.predictions == self.labels))}/{len(self.labels)}"
            ")"
            f"  latency per request of {self.batch_size}: p50 {self.latency_percentile_ms(50):.1f} ms"
            f"  p99 {self.latency_percentile_ms(99):.1f} ms  ({len(self.latencies_ms)} requests)"
        )


def score_dataset(
    uri: str,
    dataset: mnist.Dataset,
    key: str | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    timeout: float = DEFAULT_TIMEOUT_S,
    on_progress: Callable[[int, int], None] | None = None,
) -> BatchReport:
    """Score every image of `dataset` in requests of `batch_size`; `on_progress(done, total)`."""
    if batch_size < 1:
        raise ValueError(f"batch_size: {batch_size!r} is not allowed (allowed: an integer >= 1)")
    predictions: list[np.ndarray] = []
    latencies: list[float] = []
    for start in range(0, len(dataset), batch_size):
        batch = dataset.images[start : start + batch_size]
        began = time.perf_counter()
        predictions.append(score_images(uri, batch, key=key, timeout=timeout))
        latencies.append((time.perf_counter() - began) * 1000.0)
        if on_progress is not None:
            on_progress(start + len(batch), len(dataset))
    return BatchReport(np.concatenate(predictions), dataset.labels.copy(), np.array(latencies), batch_size)


def write_confusion_png(report: BatchReport, path: Path | str, *, title: str = "") -> Path:
    """The confusion matrix (rows: label, columns: prediction) as a PNG with counts in the cells."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    matrix = report.confusion
    figure, axes = plt.subplots(figsize=(6, 5.4))
    try:
        image = axes.imshow(matrix, cmap="Blues")
        figure.colorbar(image, ax=axes)
        digits = range(mnist.CLASSES)
        axes.set(
            xticks=list(digits),
            yticks=list(digits),
            xlabel="prediction",
            ylabel="label",
            title=title or f"accuracy {report.accuracy:.4f} on {len(report.labels)} images",
        )
        threshold = matrix.max() / 2
        for label in digits:
            for prediction in digits:
                count = int(matrix[label, prediction])
                if count:
                    colour = "white" if count > threshold else "black"
                    axes.text(
                        prediction, label, str(count), ha="center", va="center", color=colour, fontsize=8
                    )
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)
    return path


class ProgressBar:
    """`[#####.....] 120/359` redrawn in place on a terminal; a line per quarter otherwise."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.interactive = stream.isatty()
        self._quarters_shown = 0

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // total
        line = f"scoring [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}"
        if self.interactive:
            self.stream.write("\r" + line + ("\n" if done == total else ""))
        elif 4 * done // total > self._quarters_shown or done == total:
            self._quarters_shown = 4 * done // total
            self.stream.write(line + "\n")
        self.stream.flush()


# ---------------------------------------------------------------------------------------------
# Command line


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m model_tools.client",
        description="The how-to's sample query against a scoring URI, or --batch over a whole test set.",
    )
    parser.add_argument("--uri", default=DEFAULT_URI, help=f"scoring URI (default {DEFAULT_URI})")
    parser.add_argument(
        "--key",
        default=os.environ.get(KEY_ENVIRONMENT_VARIABLE) or None,
        help=f"service key or token, sent as 'Authorization: Bearer' (default: ${KEY_ENVIRONMENT_VARIABLE})",
    )
    parser.add_argument(
        "--images", type=Path, help="IDX test images (gzip or plain); default: held-out digits"
    )
    parser.add_argument("--labels", type=Path, help="IDX test labels matching --images")
    parser.add_argument("--batch", action="store_true", help="score the whole test set, report accuracy")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="images per request")
    parser.add_argument("--limit", type=int, help="score only the first N images of the set")
    parser.add_argument(
        "--confusion-png", type=Path, help="with --batch: write the confusion matrix here (PNG)"
    )
    parser.add_argument("--min-accuracy", type=float, help="with --batch: exit 1 below this accuracy")
    parser.add_argument("--seed", type=int, help="pick the sample image reproducibly")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per request")
    args = parser.parse_args(argv)
    if (args.images is None) != (args.labels is None):
        parser.error("--images and --labels go together")
    if args.batch_size < 1:
        parser.error(f"--batch-size: {args.batch_size} is not allowed (allowed: an integer >= 1)")
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit: {args.limit} is not allowed (allowed: an integer >= 1)")
    if args.timeout <= 0:
        parser.error(f"--timeout: {args.timeout:g} is not allowed (allowed: > 0 seconds)")
    if not args.batch and (args.confusion_png or args.min_accuracy is not None):
        parser.error("--confusion-png and --min-accuracy go with --batch")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        dataset = load_test_set(args.images, args.labels)
    except ValueError as error:  # IdxFormatError included: it names the file
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.limit is not None:
        dataset = dataset.subset(np.arange(min(args.limit, len(dataset))))
    try:
        if not args.batch:
            result = sample_query(args.uri, args.key, dataset=dataset, seed=args.seed, timeout=args.timeout)
            print(f"image: #{result.index} of {len(dataset)}")
            print(f"label: {result.label}")
            print(f"prediction: {result.prediction}")
            return EXIT_OK
        report = score_dataset(
            args.uri,
            dataset,
            args.key,
            batch_size=args.batch_size,
            timeout=args.timeout,
            on_progress=ProgressBar(sys.stderr),
        )
    except ClientError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    print(report.summary())
    if args.confusion_png:
        print(f"confusion matrix: {write_confusion_png(report, args.confusion_png)}")
    if args.min_accuracy is not None and report.accuracy < args.min_accuracy:
        print(
            f"error: accuracy {report.accuracy:.4f} is under --min-accuracy {args.min_accuracy}",
            file=sys.stderr,
        )
        return EXIT_BELOW_MIN_ACCURACY
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
