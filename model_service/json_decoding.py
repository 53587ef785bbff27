"""The how-to's JSON body, `{"data": [[784 numbers in 0..1], ...]}`, as float32 [n, 784].

Two decoders accept exactly the same bodies. The fast one (simdjson straight into a float64
buffer, several times faster than orjson + numpy for a large batch; docs/scoring.md) takes a
body only when it is sure the body is a valid batch; anything else goes to the strict one
(orjson), which writes every error message. So only the strict decoder explains, and both agree
on what is valid (tests/scoring/test_fuzz_scorer.py checks that on generated bodies).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import numpy as np
import orjson
import simdjson
from image_checks import IMAGE_PIXELS, check_batch_size, check_pixel_range
from scoring_errors import InvalidInput

JSON_EXAMPLE = '{"data": [[784 numbers in 0..1], ...]}'

_JSON_OBJECT_START = re.compile(rb"[ \t\n\r]*\{")

# A simdjson parser keeps its buffers from one document to the next. A new parser per request
# allocates (and page-faults) them afresh, which costs more than the parse itself
# (docs/performance.md). So each thread reuses one parser; a body above this size gets a parser
# of its own, so that one huge batch does not leave the worker holding buffers sized for it.
REUSED_PARSER_MAX_BYTES = 8 * 1024 * 1024
_thread_state = threading.local()


def decode_json(body: bytes, max_batch: int) -> np.ndarray:
    """`{"data": [[784 numbers in 0..1], ...]}` -> float32 [n, 784]; InvalidInput names the problem."""
    images = decode_valid_json_fast(body, max_batch)
    if images is not None:
        return images
    return decode_json_strictly(body, max_batch)


def decode_json_strictly(body: bytes, max_batch: int) -> np.ndarray:
    """The strict decoder (orjson): every body the fast path is not sure of, every error message."""
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
    check_batch_size(len(rows), max_batch)

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
    check_pixel_range(images, where="data[{row}][{col}]")
    return images


def json_parser(body_size: int) -> simdjson.Parser:
    """This thread's reusable parser, or a new one for a body over REUSED_PARSER_MAX_BYTES.

    Reuse is safe because the fast path keeps no Object/Array of a document past its return
    (simdjson raises RuntimeError on reuse while any is alive).
    """
    if body_size > REUSED_PARSER_MAX_BYTES:
        return simdjson.Parser()
    parser = getattr(_thread_state, "json_parser", None)
    if parser is None:
        parser = _thread_state.json_parser = simdjson.Parser()
    return parser


def decode_valid_json_fast(body: bytes, max_batch: int) -> np.ndarray | None:
    """The images when `body` is a batch the strict decoder would accept as is, else None.

    Accepted only if: the body starts with a JSON object (no BOM, which simdjson would skip and
    orjson refuses), whose only key is "data" (duplicates counted: orjson keeps the last), holding
    1..max_batch lists of exactly 784 numbers with no deeper nesting (as_buffer flattens nested
    lists: the '[' count proves there are none, as the one key is the only string), all finite and
    in 0..1. The range is checked before the float32 rounding: a value that only rounds into 0..1
    (such as 1.00000001) goes to the strict decoder, which accepts it, so both still agree.
    """
    if _JSON_OBJECT_START.match(body) is None:
        return None
    try:
        document = json_parser(len(body)).parse(body)
        if not isinstance(document, simdjson.Object) or len(document) != 1:
            return None
        rows = document["data"]
        if not isinstance(rows, simdjson.Array):
            return None
        count = len(rows)
        if not 1 <= count <= max_batch or not _holds_brackets(body, count + 1):
            return None
        if not all(isinstance(row, simdjson.Array) and len(row) == IMAGE_PIXELS for row in rows):
            return None
        values = np.frombuffer(rows.as_buffer(of_type="d"), dtype=np.float64)
    except Exception:  # simdjson refuses in many types (syntax, types, big integers): strict says why
        return None
    if values.size != count * IMAGE_PIXELS:
        return None
    if not (values.min() >= 0.0 and values.max() <= 1.0):  # False for NaN
        return None
    # In 0..1, so the float32 rounding stays in 0..1 and cannot overflow.
    return values.astype(np.float32).reshape(count, IMAGE_PIXELS)


def _holds_brackets(body: bytes, expected: int) -> bool:
    """True if `body` holds exactly `expected` '[' bytes. A find per bracket: bytes.find of one byte
    scans with memchr, bytes.count does not (several times slower, at any body size)."""
    position = -1
    for _ in range(expected):
        position = body.find(b"[", position + 1)
        if position < 0:
            return False
    return body.find(b"[", position + 1) < 0


def _may_hold_non_numbers(body: bytes) -> bool:
    """False only if the valid JSON `body`, a one-key object {"data": ...}, holds nothing but numbers.

    Its key takes the first two quotes, so any later quote starts a string; and outside strings
    the letters t, f and n only start true, false and null (numbers are digits . - + e E). A few
    memchr scans (far cheaper than `in` or `count`) instead of a look at every value.
    """
    key_end = body.find(b'"', body.find(b'"') + 1)
    return any(body.find(char, key_end + 1) != -1 for char in (b'"', b"t", b"f", b"n"))


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
