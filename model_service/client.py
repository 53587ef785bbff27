"""Query a deployed MNIST service: the how-to's sample query, and batch scoring with accuracy.

    python -m model_service.client --uri http://127.0.0.1:5001/score            # one random image
    python -m model_service.client --uri URI --key KEY --images F --labels F     # ... from IDX files
    python -m model_service.client --uri URI --batch [--confusion-png F]         # the whole test set

Requests are the how-to's JSON, `{"data": [[784 floats in 0..1], ...]}`, answered by a JSON list
of predicted digits. With a key (`--key`, or the SCORING_KEY environment variable, which keeps it
out of the process list) every request carries `Authorization: Bearer <key>`. Without IDX files
the images are scikit-learn's digits, the split that `python -m model_service.train --digits`
held out (same seed and fraction), so batch accuracy is measured on images the model never saw.

Errors (all `ClientError`; exit status in brackets):

    ClientError
     ├── ServiceUnreachable    [3] connection refused, unknown host, no answer in time
     ├── AuthenticationFailed  [4] 401/403: missing or wrong key
     ├── ServiceError          [5] any other 4xx/5xx, with the server's own message
     └── BadResponse           [5] a 200 whose body is not one digit per image

Other exit statuses: 0 done, 1 batch accuracy under --min-accuracy, 2 bad arguments or input
files. A key never appears in an error message.

The plotting (matplotlib) and digits (scikit-learn) imports happen only when used.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from model_service import mnist

DEFAULT_URI = "http://127.0.0.1:5001/score"
DEFAULT_BATCH_SIZE = 64
DEFAULT_TIMEOUT_S = 30.0
KEY_ENVIRONMENT_VARIABLE = "SCORING_KEY"
_MESSAGE_LIMIT = 500  # characters of a server's error body worth showing

EXIT_OK = 0
EXIT_BELOW_MIN_ACCURACY = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_AUTH = 4
EXIT_SERVICE = 5

# k/255 as the shortest decimal that reads back as the same float32: the JSON the server gets
# parses to exactly the pixels `mnist.to_model_input` gives the model in training.
_PIXEL_TEXT = np.array(
    [np.format_float_positional(np.float32(k) / np.float32(255.0), unique=True, trim="0") for k in range(256)]
)


class ClientError(Exception):
    """Scoring failed; the message says why and what to check."""

    exit_code = EXIT_SERVICE


class ServiceUnreachable(ClientError):
    exit_code = EXIT_UNREACHABLE


class AuthenticationFailed(ClientError):
    exit_code = EXIT_AUTH

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ServiceError(ClientError):
    def __init__(self, message: str, status: int, server_message: str) -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class BadResponse(ClientError):
    pass


# ---------------------------------------------------------------------------------------------
# One request


def encode_request(images: np.ndarray) -> bytes:
    """uint8 images [n, 28, 28] -> the how-to's JSON body {"data": [[784 floats in 0..1], ...]}."""
    rows = images.reshape(len(images), mnist.IMAGE_PIXELS)
    return ('{"data":[' + ",".join("[" + ",".join(_PIXEL_TEXT[row]) + "]" for row in rows) + "]}").encode()


def score_images(
    uri: str, images: np.ndarray, *, key: str | None = None, timeout: float = DEFAULT_TIMEOUT_S
) -> np.ndarray:
    """POST `images` (uint8 [n, 28, 28]) to `uri`; the predicted digits as int [n]."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(uri, data=encode_request(images), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        raise _http_error(uri, error.code, _read_error_body(error), bool(key)) from None
    except urllib.error.URLError as error:
        raise ServiceUnreachable(f"cannot reach {uri}: {_reason(error.reason)}") from None
    except TimeoutError:
        raise ServiceUnreachable(f"{uri} did not answer within {timeout:g} s") from None
    except (ConnectionError, http.client.HTTPException) as error:
        raise ServiceUnreachable(f"{uri} dropped the connection: {_reason(error)}") from None
    return decode_response(body, expected=len(images))


def decode_response(body: bytes, *, expected: int) -> np.ndarray:
    """The service's answer -> int [expected] digits; a JSON list, or (as Azure ML's v1 servers
    sometimes send) a JSON string holding that list."""
    try:
        answer = json.loads(body)
        if isinstance(answer, str):
            answer = json.loads(answer)
    except (ValueError, UnicodeDecodeError):
        raise BadResponse(f"the service answered with something other than JSON: {_snippet(body)}") from None
    valid = (
        isinstance(answer, list)
        and len(answer) == expected
        and all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < mnist.CLASSES for d in answer)
    )
    if not valid:
        raise BadResponse(
            f"expected a JSON list of {expected} digits (0..9), the service answered: {_snippet(body)}"
        )
    return np.array(answer, dtype=np.int64)


def _http_error(uri: str, status: int, body: bytes, sent_key: bool) -> ClientError:
    server_message = _server_message(body)
    if status in (401, 403):
        hint = (
            "the key was refused: check --key / SCORING_KEY (keys rotate with `pulumi up`)"
            if sent_key
            else "the service needs a key: pass --key or set SCORING_KEY"
        )
        meaning = "unauthorized" if status == 401 else "forbidden"
        return AuthenticationFailed(
            f"{uri} answered {status} ({meaning}): {hint}; server said: {server_message}", status
        )
    return ServiceError(f"{uri} answered {status}: {server_message}", status, server_message)


def _read_error_body(error: urllib.error.HTTPError) -> bytes:
    try:
        return error.read()
    except (OSError, http.client.HTTPException):
        return b""
    finally:
        error.close()


def _server_message(body: bytes) -> str:
    """The `message` (or `error`) field of a JSON error body, else the body's text."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict):
        for field in ("message", "error", "detail"):
            value = parsed.get(field)
            if isinstance(value, str):
                return value[:_MESSAGE_LIMIT]
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"][:_MESSAGE_LIMIT]
    return _snippet(body) or "(empty body)"


def _snippet(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT] + "…"


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the service running? `make serve` starts it locally)"
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason) or type(reason).__name__


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
        prog="python -m model_service.client",
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
