"""Scoring the MNIST DNN: settings, request-body decoding and a warmed, compiled forward.

`Scorer` follows KServe's model lifecycle: the constructor only stores settings, `load()` does
the I/O (finds and loads the SavedModel, configures the device, compiles and warms the forward)
and marks the scorer ready, `predict()` / `score()` serve requests. `score.py` adapts it to
Azure ML's `init()`/`run()`.

Errors (every one carries the HTTP status it stands for):

    ScoringError               base: `status`, a message naming the problem
     ├── InvalidInput          400  the body does not hold a valid batch of images
     ├── PayloadTooLarge       413  the body is over SCORE_MAX_BODY_BYTES
     ├── UnsupportedMediaType  415  a Content-Type this scorer does not read
     └── NotReady              503  load() has not completed
    SettingsError (ValueError)      a bad SCORE_* / AZUREML_MODEL_DIR value in the environment
    ModelLoadError                  no loadable SavedModel under AZUREML_MODEL_DIR

Body encodings (chosen by Content-Type; see docs/scoring.md):

    application/json (or no Content-Type)   {"data": [[784 numbers in 0..1], ...]}
    application/octet-stream                uint8 pixels, 784 bytes per image (0..255)
    application/octet-stream; dtype=float32 little-endian float32 pixels in 0..1, 3136 bytes per image

This module imports only the scoring image's packages (numpy, orjson, pysimdjson, threadpoolctl,
tensorflow) and its sibling dense_forward.py, so that azmlinfsrv can load it beside score.py from
Azure ML's source directory.
"""

from __future__ import annotations

import enum
import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import simdjson
import threadpoolctl

try:
    from model_service import dense_forward
except ImportError:  # loaded by path beside score.py (azmlinfsrv), which loaded dense_forward.py first
    dense_forward = sys.modules["model_service_dense_forward"]

# Routed through the inference server's own log handlers (its logger is "azmlinfsrv").
logger = logging.getLogger("azmlinfsrv.scorer")

IMAGE_PIXELS = 784  # 28 × 28
FLOAT32_BYTES_PER_IMAGE = IMAGE_PIXELS * 4
MODEL_FILE = "saved_model.pb"
SERVING_ENDPOINT = "serve"  # Keras 3 `model.export()`'s endpoint: float32 [None, 784] -> logits

ENV_MODEL_DIR = "AZUREML_MODEL_DIR"
ENV_MAX_BATCH = "SCORE_MAX_BATCH"
ENV_MAX_BODY_BYTES = "SCORE_MAX_BODY_BYTES"
ENV_WARMUP_BATCHES = "SCORE_WARMUP_BATCHES"
ENV_TF_THREADS = "SCORE_TF_THREADS"
ENV_FORWARD = "SCORE_FORWARD"

DEFAULT_MAX_BATCH = 1024
# A JSON batch of 1024 images with float32 values printed in full is ~18 MB.
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_WARMUP_BATCHES = (1, 8, 256)
# Each gunicorn worker is its own process with its own TensorFlow: pools as wide as the machine in
# every worker fight each other (measured: a batch-256 forward costs 3.4 ms of CPU with the
# default pools, 2.1 ms with one thread; bench/score_throughput.py). Scale with workers instead.
# 0 keeps TensorFlow's default (as wide as the machine).
DEFAULT_TF_THREADS = 1
# auto: on a CPU, the numpy forward (dense_forward.py) once it has matched TensorFlow's logits;
# on a GPU, and with `tensorflow`, the compiled TensorFlow forward.
FORWARD_CHOICES = ("auto", "tensorflow")
DEFAULT_FORWARD = "auto"
_TF_THREADS_RANGE = (0, 256)
_MAX_BATCH_RANGE = (1, 65536)
_MAX_BODY_RANGE = (1024, 1024**3)

JSON_EXAMPLE = '{"data": [[784 numbers in 0..1], ...]}'


class ScoringError(Exception):
    """A request the scorer refuses; `status` is the HTTP status it maps to."""

    status = 400


class InvalidInput(ScoringError):
    status = 400


class PayloadTooLarge(ScoringError):
    status = 413


class UnsupportedMediaType(ScoringError):
    status = 415


class NotReady(ScoringError):
    status = 503


class SettingsError(ValueError):
    """A setting read from the environment is missing or out of range."""


class ModelLoadError(Exception):
    """The model directory holds no loadable SavedModel with the expected endpoint."""


# ---------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class ScorerSettings:
    """What a scorer needs; built from the environment by `from_env`, or directly in tests."""

    model_root: Path
    max_batch: int = DEFAULT_MAX_BATCH
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    warmup_batches: tuple[int, ...] = DEFAULT_WARMUP_BATCHES
    tf_threads: int = DEFAULT_TF_THREADS
    forward: str = DEFAULT_FORWARD

    def __post_init__(self) -> None:
        if self.forward not in FORWARD_CHOICES:
            raise SettingsError(
                f"{ENV_FORWARD}: {self.forward!r} is not allowed (allowed: {', '.join(FORWARD_CHOICES)})"
            )
        _check_range(ENV_MAX_BATCH, self.max_batch, _MAX_BATCH_RANGE)
        _check_range(ENV_TF_THREADS, self.tf_threads, _TF_THREADS_RANGE)
        _check_range(ENV_MAX_BODY_BYTES, self.max_body_bytes, _MAX_BODY_RANGE)
        for size in self.warmup_batches:
            _check_range(ENV_WARMUP_BATCHES, size, (1, self.max_batch))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ScorerSettings:
        """Read AZUREML_MODEL_DIR (required) and the optional SCORE_* settings from `environ`."""
        model_dir = environ.get(ENV_MODEL_DIR, "").strip()
        if not model_dir:
            raise SettingsError(
                f"{ENV_MODEL_DIR} is not set: Azure ML sets it to the registered model's directory; "
                "locally pass --model_dir to azmlinfsrv"
            )
        max_batch = _int_setting(environ, ENV_MAX_BATCH, DEFAULT_MAX_BATCH)
        # Unless set, warm up at the default sizes the batch limit allows.
        default_warmup = tuple(size for size in DEFAULT_WARMUP_BATCHES if size <= max_batch) or (1,)
        return cls(
            model_root=Path(model_dir),
            max_batch=max_batch,
            max_body_bytes=_int_setting(environ, ENV_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
            warmup_batches=_int_list_setting(environ, ENV_WARMUP_BATCHES, default_warmup),
            tf_threads=_int_setting(environ, ENV_TF_THREADS, DEFAULT_TF_THREADS),
            forward=(environ.get(ENV_FORWARD) or DEFAULT_FORWARD).strip().lower(),
        )


def _int_setting(environ: Mapping[str, str], key: str, default: int) -> int:
    raw = environ.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise SettingsError(f"{key}: {raw!r} is not an integer") from None


def _int_list_setting(environ: Mapping[str, str], key: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = environ.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        return tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise SettingsError(f"{key}: {raw!r} is not a comma-separated list of integers") from None


def _check_range(key: str, value: int, allowed: tuple[int, int]) -> None:
    low, high = allowed
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(f"{key}: {value!r} is not allowed (allowed: an integer in {low}..{high})")


# ---------------------------------------------------------------------------------------------
# Content types and body decoding


class Encoding(enum.Enum):
    JSON = "application/json"
    UINT8 = "application/octet-stream"
    FLOAT32 = "application/octet-stream; dtype=float32"


SUPPORTED_CONTENT_TYPES = ", ".join(encoding.value for encoding in Encoding)


def parse_content_type(header: str | None) -> Encoding:
    """The body encoding a Content-Type header selects; no header means JSON (the how-to's client)."""
    if header is None or not header.strip():
        return Encoding.JSON
    media_type, *raw_params = (part.strip() for part in header.split(";"))
    media_type = media_type.lower()
    params = {}
    for raw in raw_params:
        name, _, value = raw.partition("=")
        params[name.strip().lower()] = value.strip().strip('"').lower()
    if media_type == "application/json":
        charset = params.get("charset", "utf-8")
        if charset not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(
                f"Content-Type {header!r}: charset {charset!r} is not supported (use utf-8)"
            )
        return Encoding.JSON
    if media_type == "application/octet-stream":
        dtype = params.get("dtype", "uint8")
        if dtype == "uint8":
            return Encoding.UINT8
        if dtype == "float32":
            return Encoding.FLOAT32
        raise UnsupportedMediaType(
            f"Content-Type {header!r}: dtype {dtype!r} is not supported (allowed: uint8, float32)"
        )
    raise UnsupportedMediaType(
        f"Content-Type {header!r} is not supported (allowed: {SUPPORTED_CONTENT_TYPES})"
    )


def decode_body(body: bytes, encoding: Encoding, max_batch: int) -> np.ndarray:
    """The images in `body`: uint8 [n, 784] for UINT8, float32 [n, 784] in 0..1 otherwise.

    Raises InvalidInput naming the problem; never returns values the model was not trained on.
    """
    if encoding is Encoding.JSON:
        return decode_json(body, max_batch)
    if encoding is Encoding.UINT8:
        return _decode_binary(body, np.dtype(np.uint8), IMAGE_PIXELS, max_batch, "uint8")
    images = _decode_binary(body, np.dtype("<f4"), FLOAT32_BYTES_PER_IMAGE, max_batch, "float32")
    _check_pixel_range(images, where="image {row}, pixel {col}")
    return images


def _decode_binary(body: bytes, dtype: np.dtype, image_bytes: int, max_batch: int, name: str) -> np.ndarray:
    if not body:
        raise InvalidInput(f"empty batch: the body holds no images ({image_bytes} bytes of {name} per image)")
    count, remainder = divmod(len(body), image_bytes)
    if remainder:
        raise InvalidInput(
            f"body has {len(body)} bytes, not a multiple of {image_bytes} "
            f"(one 28×28 image of {name} pixels is {image_bytes} bytes)"
        )
    _check_batch_size(count, max_batch)
    return np.frombuffer(body, dtype=dtype).reshape(count, IMAGE_PIXELS)


def decode_json(body: bytes, max_batch: int) -> np.ndarray:
    """`{"data": [[784 numbers in 0..1], ...]}` -> float32 [n, 784].

    A valid batch takes the fast path (simdjson straight into a float64 buffer, ~3× faster than
    orjson + numpy at 256 images); anything else, and every error message, comes from the strict
    path (orjson), so both accept exactly the same bodies and only the strict one explains.
    """
    images = _decode_valid_json_fast(body, max_batch)
    if images is not None:
        return images
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"body is not valid JSON ({error}); expected {JSON_EXAMPLE}") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"body is {_json_kind(document)}, not a JSON object; expected {JSON_EXAMPLE}")
    if "data" not in document:
        raise InvalidInput(f"missing key 'data' (got keys {sorted(document)}); expected {JSON_EXAMPLE}")
    if len(document) > 1:
        extra = sorted(key for key in document if key != "data")
        raise InvalidInput(f"unexpected key(s) {extra}: the body holds only 'data'; expected {JSON_EXAMPLE}")
    rows = document["data"]
    if not isinstance(rows, list):
        raise InvalidInput(f"'data' is {_json_kind(rows)}, not a list of images; expected {JSON_EXAMPLE}")
    if not rows:
        raise InvalidInput(f"empty batch: 'data' holds no images; expected {JSON_EXAMPLE}")
    if not isinstance(rows[0], list):  # a single image sent flat: say so, not "batch too large"
        _raise_first_bad_value(rows)
    _check_batch_size(len(rows), max_batch)

    # numpy would silently turn the strings "0.5" into numbers, true/false into 1/0 and null into
    # NaN, so those are refused before the fast conversion; see _may_hold_non_numbers.
    if _may_hold_non_numbers(body):
        _raise_first_bad_value(rows)
    try:
        with np.errstate(over="ignore"):  # values beyond float32 become inf, refused just below
            images = np.asarray(rows, dtype=np.float32)
    except (ValueError, TypeError, OverflowError) as error:
        _raise_first_bad_value(rows)
        raise InvalidInput(f"'data' is not a batch of {IMAGE_PIXELS}-number rows: {error}") from None
    if images.ndim != 2 or images.shape[1] != IMAGE_PIXELS:
        _raise_first_bad_value(rows)
        raise InvalidInput(f"'data' has shape {list(images.shape)}; expected [n, {IMAGE_PIXELS}]")
    _check_pixel_range(images, where="data[{row}][{col}]")
    return images


_JSON_OBJECT_START = re.compile(rb"[ \t\n\r]*\{")

# A simdjson parser keeps its buffers from one document to the next. A new parser per request
# allocates (and page-faults) them afresh, which cost more than the parse itself: 9.9 ms against
# 3.6 ms for a 2 MB batch of 256 images (docs/performance.md). So each thread reuses one parser;
# a body above this size gets a parser of its own, so that one huge batch does not leave the
# worker holding buffers sized for it.
_REUSED_PARSER_MAX_BYTES = 8 * 1024 * 1024
_thread_state = threading.local()


def _json_parser(body_size: int) -> simdjson.Parser:
    """This thread's reusable parser, or a new one for a body over _REUSED_PARSER_MAX_BYTES.

    Reuse is safe because the fast path keeps no Object/Array of a document past its return
    (simdjson raises RuntimeError on reuse while any is alive).
    """
    if body_size > _REUSED_PARSER_MAX_BYTES:
        return simdjson.Parser()
    parser = getattr(_thread_state, "json_parser", None)
    if parser is None:
        parser = _thread_state.json_parser = simdjson.Parser()
    return parser


def _decode_valid_json_fast(body: bytes, max_batch: int) -> np.ndarray | None:
    """The images when `body` is a batch the strict path would accept as is, else None.

    Accepted only if: the body starts with a JSON object (no BOM, which simdjson would skip and
    orjson refuses), whose only key is "data" (duplicates counted: orjson keeps the last), holding
    1..max_batch lists of exactly 784 numbers with no deeper nesting (as_buffer flattens nested
    lists: the '[' count proves there are none, as the one key is the only string), all finite and
    in 0..1 after the same float32 rounding as the strict path.
    """
    if _JSON_OBJECT_START.match(body) is None:
        return None
    try:
        document = _json_parser(len(body)).parse(body)
        if not isinstance(document, simdjson.Object) or len(document) != 1:
            return None
        rows = document["data"]
        if not isinstance(rows, simdjson.Array) or not 1 <= len(rows) <= max_batch:
            return None
        if body.count(b"[") != len(rows) + 1:
            return None
        if not all(isinstance(row, simdjson.Array) and len(row) == IMAGE_PIXELS for row in rows):
            return None
        values = np.frombuffer(rows.as_buffer(of_type="d"), dtype=np.float64)
    except Exception:  # simdjson refuses in many types (syntax, types, big integers): strict says why
        return None
    if values.size != len(rows) * IMAGE_PIXELS:
        return None
    with np.errstate(over="ignore"):  # beyond float32 becomes inf: refused by the range check
        images = values.astype(np.float32).reshape(len(rows), IMAGE_PIXELS)
    if not (images.size and images.min() >= 0.0 and images.max() <= 1.0):  # False for NaN
        return None
    return images


def _may_hold_non_numbers(body: bytes) -> bool:
    """False only if the valid JSON `body`, a one-key object {"data": ...}, holds nothing but numbers.

    Its key takes the first two quotes, so any later quote starts a string; and outside strings
    the letters t, f and n only start true, false and null (numbers are digits . - + e E). A few
    memchr scans (~1 ms for 4 MB; `in` and `count` take ~20 ms) instead of a look at every value.
    """
    key_end = body.find(b'"', body.find(b'"') + 1)
    return any(body.find(char, key_end + 1) != -1 for char in (b'"', b"t", b"f", b"n"))


def _check_batch_size(count: int, max_batch: int) -> None:
    if count > max_batch:
        raise InvalidInput(
            f"batch of {count} images is over the maximum of {max_batch} ({ENV_MAX_BATCH}); split it"
        )


def _raise_first_bad_value(rows: list[Any]) -> None:
    """Raise InvalidInput naming the first row or value that is not a number (error path only)."""
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            hint = ' (wrap a single image as {"data": [[...]]})' if _is_number(row) else ""
            raise InvalidInput(f"data[{i}] is {_json_kind(row)}, not a list of {IMAGE_PIXELS} numbers{hint}")
        if len(row) != IMAGE_PIXELS:
            raise InvalidInput(
                f"data[{i}] has {len(row)} values; every image is {IMAGE_PIXELS} numbers (28×28 pixels)"
            )
        for j, value in enumerate(row):
            if not _is_number(value):
                raise InvalidInput(f"data[{i}][{j}] is {_json_kind(value)}; pixels are JSON numbers in 0..1")


def _is_number(value: object) -> bool:
    return type(value) in (int, float)  # not bool, which is an int subclass


def _json_kind(value: object) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:20] + "…"
        return f"the string {shown!r}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"the number {value!r}"


def _check_pixel_range(images: np.ndarray, where: str) -> None:
    """Reject NaN, ±inf and values outside 0..1 (raw 0..255 pixels are the usual mistake)."""
    if images.size and images.min() >= 0.0 and images.max() <= 1.0:  # False for NaN
        return
    row, col = (int(i) for i in np.argwhere(~((images >= 0.0) & (images <= 1.0)))[0])
    value = float(images[row, col])
    place = where.format(row=row, col=col)
    if not np.isfinite(value):
        raise InvalidInput(f"{place} is {value}: pixels are finite numbers in 0..1")
    raise InvalidInput(
        f"{place} is {value:g}, outside 0..1: scale 0..255 pixels by 1/255, "
        "or send the bytes as application/octet-stream"
    )


def encode_digits(digits: np.ndarray) -> bytes:
    """The JSON list of predicted digits, serialised from the int array without a Python loop."""
    return orjson.dumps(digits, option=orjson.OPT_SERIALIZE_NUMPY)


# ---------------------------------------------------------------------------------------------
# Model directory and devices


def find_model_dir(root: Path) -> Path:
    """The one directory under `root` (or `root` itself) that holds saved_model.pb.

    Azure ML mounts a registered model at AZUREML_MODEL_DIR either directly or as
    `<folder name>/...`, so the SavedModel may sit a level or two below the root.
    """
    if not root.is_dir():
        raise ModelLoadError(f"{ENV_MODEL_DIR}={root} is not a directory")
    found = sorted(path.parent for path in root.rglob(MODEL_FILE))
    if not found:
        listing = sorted(str(p.relative_to(root)) for p in root.rglob("*"))[:20]
        raise ModelLoadError(f"no {MODEL_FILE} under {ENV_MODEL_DIR}={root} (found: {listing})")
    if len(found) > 1:
        raise ModelLoadError(
            f"{len(found)} SavedModels under {ENV_MODEL_DIR}={root}: {[str(p) for p in found]}; register one"
        )
    return found[0]


def configure_threads(tf_config: Any, threads: int) -> None:
    """Size TensorFlow's thread pools and numpy's BLAS pool (0: their defaults, as wide as the
    machine). TensorFlow's must be sized before it starts them."""
    if threads == 0:
        return
    threadpoolctl.threadpool_limits(threads, user_api="blas")  # stays in force for the process
    try:
        tf_config.threading.set_intra_op_parallelism_threads(threads)
        tf_config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as error:  # the pools already exist (TensorFlow was used before load())
        logger.warning("could not size TensorFlow's thread pools to %d: %s", threads, error)


def configure_devices(tf_config: Any) -> str:
    """Turn on memory growth for every visible GPU; return the device to run on ("/GPU:0" or "/CPU:0").

    `tf_config` is `tf.config` (passed in so tests can show a machine with GPUs). Memory growth
    keeps TensorFlow from reserving all GPU memory up front in each worker process.
    """
    gpus = tf_config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf_config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:  # the GPU was initialised before this call
            logger.warning("could not turn on memory growth for %s: %s", gpu, error)
    return "/GPU:0" if gpus else "/CPU:0"


def _matching_dense_stack(model: Any, serve: Any) -> dense_forward.DenseStack | None:
    """The numpy forward of the loaded SavedModel if it computes TensorFlow's logits, else None
    (logged: the scorer then keeps the TensorFlow forward)."""
    try:
        stack = dense_forward.DenseStack.from_variables(model.variables)
    except (dense_forward.UnsupportedModel, AttributeError) as error:
        logger.info("numpy forward not used: %s", error)
        return None
    images = dense_forward.check_batch()
    problem = dense_forward.agreement_problem(stack, serve(images).numpy(), images)
    if problem is not None:
        logger.warning("numpy forward not used: %s", problem)
        return None
    return stack


# ---------------------------------------------------------------------------------------------
# The scorer


class Scorer:
    """The MNIST DNN as a service: `load()` once, then `predict()`/`score()` per request."""

    def __init__(self, settings: ScorerSettings) -> None:
        self.settings = settings
        self.model_dir: Path | None = None
        self.device: str | None = None
        self._forward_float32: Any = None
        self._forward_uint8: Any = None
        self._dense_stack: dense_forward.DenseStack | None = None
        self._tf: Any = None

    @property
    def ready(self) -> bool:
        return self._forward_float32 is not None

    def load(self) -> None:
        """Find and load the SavedModel, compile the forward for float32 and uint8 input, warm it up
        at the configured batch sizes, and mark the scorer ready. Raises ModelLoadError."""
        import tensorflow as tf  # imported here: seconds of start-up that only load() should pay

        model_dir = find_model_dir(self.settings.model_root)
        configure_threads(tf.config, self.settings.tf_threads)
        device = configure_devices(tf.config)
        try:
            model = tf.saved_model.load(str(model_dir))
        except Exception as error:  # TensorFlow raises many types for a damaged SavedModel
            raise ModelLoadError(f"cannot load the SavedModel in {model_dir}: {error}") from error
        serve = getattr(model, SERVING_ENDPOINT, None)
        if serve is None:
            raise ModelLoadError(
                f"the SavedModel in {model_dir} has no {SERVING_ENDPOINT!r} endpoint "
                "(export it with Keras 3 `model.export(dir)`)"
            )

        # The argmax runs inside the graph, so a request gets back n int32s, not n×10 logits.
        @tf.function(input_signature=[tf.TensorSpec([None, IMAGE_PIXELS], tf.float32)])
        def digits_from_float32(images: Any) -> Any:
            return tf.argmax(serve(images), axis=1, output_type=tf.int32)

        # uint8 pixels travel to the device as bytes and are scaled there, as training scaled them.
        @tf.function(input_signature=[tf.TensorSpec([None, IMAGE_PIXELS], tf.uint8)])
        def digits_from_uint8(pixels: Any) -> Any:
            return digits_from_float32(tf.cast(pixels, tf.float32) / 255.0)

        with tf.device(device):
            self._tf = tf
            self.device = device
            self.model_dir = model_dir
            forward_float32 = digits_from_float32.get_concrete_function()
            forward_uint8 = digits_from_uint8.get_concrete_function()
        self._forward_uint8 = forward_uint8
        if device == "/CPU:0" and self.settings.forward == "auto":
            self._dense_stack = _matching_dense_stack(model, serve)
        self._forward_float32 = forward_float32  # ready from here on
        self._warm_up(self.settings.warmup_batches)
        logger.info(
            "model %s loaded on %s (TensorFlow %s); forward: %s; warmed at batch sizes %s",
            model_dir,
            device,
            tf.__version__,
            self.forward_name,
            list(self.settings.warmup_batches),
        )

    @property
    def forward_name(self) -> str:
        """Which forward predict() runs: "numpy" (dense_forward.py, CPU) or "tensorflow"."""
        return "numpy" if self._dense_stack is not None else "tensorflow"

    def _warm_up(self, batch_sizes: Iterable[int]) -> None:
        for size in batch_sizes:
            self.predict(np.zeros((size, IMAGE_PIXELS), dtype=np.float32))
            self.predict(np.zeros((size, IMAGE_PIXELS), dtype=np.uint8))

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Predicted digits (int32 [n]) for uint8 [n, 784] pixels or float32 [n, 784] in 0..1."""
        if not self.ready:
            raise NotReady("the model is not loaded yet")
        if images.ndim != 2 or images.shape[1] != IMAGE_PIXELS:
            raise InvalidInput(f"images must have shape [n, {IMAGE_PIXELS}], got {list(images.shape)}")
        if images.dtype not in (np.uint8, np.float32):
            raise InvalidInput(f"images must be uint8 or float32, got {images.dtype}")
        if self._dense_stack is not None:
            return self._dense_stack.digits(images)
        forward = self._forward_uint8 if images.dtype == np.uint8 else self._forward_float32
        tf = self._tf
        with tf.device(self.device):
            tensor = tf.constant(images)  # placed on the device once; the forward reads it there
            return forward(tensor).numpy()

    def score(self, body: bytes, encoding: Encoding) -> bytes:
        """A request body in `encoding` -> the JSON list of predicted digits. Raises ScoringError."""
        if not self.ready:
            raise NotReady("the model is not loaded yet")
        images = decode_body(body, encoding, self.settings.max_batch)
        return encode_digits(self.predict(images))
