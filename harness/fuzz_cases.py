"""Fuzz cases for /score: random and near-valid request bodies, content types and methods, each
with the answer the scoring contract (docs/scoring.md) demands.

`cases()` is the one generator of fuzz requests; every `Case` carries its own oracle: the status
the scorer must answer and a fragment its message must contain (the problem it must name). The
oracle is written from the contract, not from the implementation: a valid batch is a JSON
object whose only key is "data", holding 1..max_batch rows of exactly 784 JSON numbers (not
booleans) whose float32 value is in 0..1; binary bodies are whole images of uint8 or float32.

In harness/ because both the tests (tests/scoring/test_fuzz_scorer.py, test_fuzz_http.py) and
the benchmark (harness/fuzz_http.py) draw from them; not in model_service/, which is the scoring
image's code and carries no hypothesis.
The servers they are sent to run with MAX_BATCH and MAX_BODY as their limits.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from model_service import score  # noqa: F401  (puts the scoring modules' directory on sys.path)

# The scorer's own image size: the cases are built against what it checks.
IMAGE_PIXELS: int = importlib.import_module("image_checks").IMAGE_PIXELS
FLOAT32_IMAGE_BYTES = IMAGE_PIXELS * 4
JSON_CT = "application/json"
UINT8_CT = "application/octet-stream"
FLOAT32_CT = "application/octet-stream; dtype=float32"

# Small limits keep bodies small, so many cases run per second; the limits' logic is the same.
MAX_BATCH = 8
MAX_BODY = 200_000  # > MAX_BATCH JSON images of full-precision floats (~15 kB each, indented ~17 kB)

# ---------------------------------------------------------------------------------------------
# Cases and their oracle


@dataclass(frozen=True)
class Case:
    """One request and what the scorer must answer to it.

    `status` 200: the body holds `images` images and the reply is that many digits. Any other
    status: the reply is that status with a JSON message containing `fragment`.
    """

    kind: str
    body: bytes
    content_type: str | None = JSON_CT
    method: str = "POST"
    status: int = 200
    fragment: str = ""
    images: int = 0
    chunked: bool = False  # sent with Transfer-Encoding: chunked (no declared length)

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:  # how hypothesis prints a case
        printer.text(repr(self))

    def __repr__(self) -> str:  # failing cases are printed: keep them readable
        shown = self.body if len(self.body) <= 160 else self.body[:160] + b"..."
        return (
            f"Case({self.kind!r}, {self.method} ct={self.content_type!r} chunked={self.chunked} "
            f"len={len(self.body)} -> {self.status} {self.fragment!r}, body={shown!r})"
        )


def reference_images(document: Any, max_batch: int) -> int | None:
    """How many images `document` holds if it is a valid batch by the contract, else None."""
    if not isinstance(document, dict) or set(document) != {"data"}:
        return None
    rows = document["data"]
    if not isinstance(rows, list) or not 1 <= len(rows) <= max_batch:
        return None
    for row in rows:
        if not isinstance(row, list) or len(row) != IMAGE_PIXELS:
            return None
        for value in row:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
            try:
                with np.errstate(over="ignore"):
                    pixel = float(np.float32(value))
            except OverflowError:
                return None
            if not 0.0 <= pixel <= 1.0:
                return None
    return len(rows)


def _rows(seed: int, count: int, style: str) -> list[list[Any]]:
    """`count` valid images: MNIST-like (mostly 0), full-precision floats, 0/1 ints, or edges."""
    rng = np.random.default_rng(seed)
    if style == "mnist":
        pixels = np.where(rng.random((count, IMAGE_PIXELS)) < 0.8, 0.0, rng.random((count, IMAGE_PIXELS)))
        return [[round(float(v), 4) for v in row] for row in pixels]
    if style == "float":
        return rng.random((count, IMAGE_PIXELS)).tolist()
    if style == "int":
        return rng.integers(0, 2, (count, IMAGE_PIXELS)).tolist()
    # Edges: exact 0 and 1, the smallest subnormal, a value that rounds to 1.0 in float32.
    edges = [0, 1, 0.0, 1.0, 5e-324, 1.00000001, -0.0, 1e-45]
    return [[edges[int(i)] for i in rng.integers(0, len(edges), IMAGE_PIXELS)] for _ in range(count)]


@st.composite
def valid_rows(draw: st.DrawFn, max_batch: int = MAX_BATCH) -> list[list[Any]]:
    count = draw(st.integers(1, max_batch))
    seed = draw(st.integers(0, 2**32 - 1))
    return _rows(seed, count, draw(st.sampled_from(["mnist", "float", "int", "edges"])))


@st.composite
def json_text(draw: st.DrawFn, document: Any) -> bytes:
    """`document` as JSON, in any of the layouts a client may produce."""
    layout = draw(st.sampled_from(["compact", "spaced", "indented", "padded"]))
    if layout == "compact":
        text = json.dumps(document, separators=(",", ":"))
    elif layout == "indented":
        text = json.dumps(document, indent=1)
    else:
        text = json.dumps(document)
    if layout == "padded":
        text = " \n\t" + text + "\r\n "
    return text.encode()


def _valid_json_case(
    kind: str, rows: list[list[Any]], body: bytes, content_type: str | None = JSON_CT
) -> Case:
    return Case(kind, body, content_type, images=len(rows))


@st.composite
def valid_json_cases(draw: st.DrawFn) -> Case:
    rows = draw(valid_rows())
    content_type = draw(
        st.sampled_from(
            [
                JSON_CT,
                None,
                "",
                "Application/JSON",
                "application/json; charset=UTF-8",
                'application/json;charset="utf8"',
            ]
        )
    )
    return _valid_json_case("json valid", rows, draw(json_text({"data": rows})), content_type)


# Lone surrogates are not valid in JSON text: orjson refuses them as invalid JSON.
_NO_SURROGATES = st.characters(blacklist_categories=("Cs",))
# Header values: printable Latin-1 without controls (HTTP refuses those before the app sees them).
HEADER_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f").filter(
    lambda c: not 0x80 <= ord(c) < 0xA0
)

# A bad pixel value: (JSON text spliced in, fragment the message names after "data[i][j] ").
_BAD_VALUES: list[tuple[st.SearchStrategy[str], str]] = [
    (st.text(_NO_SURROGATES, max_size=12).map(json.dumps), "is the string"),
    (st.sampled_from(["true", "false"]), "is the boolean"),
    (st.just("null"), "is null"),
    (st.lists(st.integers(0, 1), max_size=3).map(json.dumps), "is a list of"),
    (
        st.dictionaries(st.text(_NO_SURROGATES, max_size=3), st.integers(), max_size=2).map(json.dumps),
        "is an object",
    ),
    (st.floats(1.001, 3e38).map(repr), "outside 0..1"),
    (st.floats(-3e38, -1e-6).map(repr), "outside 0..1"),
    (st.integers(2, 2**63).map(str), "outside 0..1"),
    (st.floats(1e39, 1e308).map(repr), "is inf"),  # finite in JSON, beyond float32
]
# Not JSON at all (orjson refuses them): the whole body is named as invalid JSON.
_NOT_JSON_VALUES = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "0x10", ".5", "01", "+1"]
)


@st.composite
def bad_value_cases(draw: st.DrawFn) -> Case:
    rows = draw(valid_rows())
    i = draw(st.integers(0, len(rows) - 1))
    j = draw(st.integers(0, IMAGE_PIXELS - 1))
    if draw(st.integers(0, 5)) == 0:
        value, fragment = draw(_NOT_JSON_VALUES), "not valid JSON"
    else:
        strategy, what = draw(st.sampled_from(_BAD_VALUES))
        value, fragment = draw(strategy), f"data[{i}][{j}] "
        fragment = fragment if what in ("outside 0..1", "is inf") else fragment + what
    marker = "__FUZZ_BAD_VALUE__"
    rows[i][j] = marker
    body = json.dumps({"data": rows}).replace(json.dumps(marker), value).encode()
    return Case(f"json bad value {value[:10]!r}", body, status=400, fragment=fragment)


@st.composite
def bad_row_cases(draw: st.DrawFn) -> Case:
    rows = draw(valid_rows())
    i = draw(st.integers(0, len(rows) - 1))
    how = draw(st.sampled_from(["shorter", "longer", "empty", "number", "string", "null", "object"]))
    if how in ("shorter", "longer", "empty"):
        size = {
            "shorter": draw(st.integers(1, IMAGE_PIXELS - 1)),
            "longer": IMAGE_PIXELS + draw(st.integers(1, 50)),
            "empty": 0,
        }[how]
        rows[i] = (rows[i] * 2)[:size]
        fragment = f"data[{i}] has {size} values"
    else:
        rows[i] = {"number": 0.5, "string": "7", "null": None, "object": {"x": 1}}[how]  # type: ignore[assignment]
        fragment = f"data[{i}] is"
    return Case(f"json bad row ({how})", json.dumps({"data": rows}).encode(), status=400, fragment=fragment)


@st.composite
def bad_structure_cases(draw: st.DrawFn) -> Case:
    rows = draw(valid_rows())
    how = draw(
        st.sampled_from(
            [
                "missing data",
                "extra key",
                "data not a list",
                "empty",
                "not an object",
                "over max",
                "flat image",
            ]
        )
    )
    if how == "missing data":
        document: Any = {draw(st.text(max_size=8).filter(lambda k: k != "data")): rows}
        fragment = "missing key 'data'"
    elif how == "extra key":
        document = {"data": rows, draw(st.text(max_size=8).filter(lambda k: k != "data")): 1}
        fragment = "unexpected key"
    elif how == "data not a list":
        document = {"data": draw(st.sampled_from([0.5, "x", None, {"a": 1}, True]))}
        fragment = "'data' is"
    elif how == "empty":
        document, fragment = {"data": []}, "empty batch"
    elif how == "not an object":
        document = draw(st.sampled_from([rows, 3, "data", None, []]))
        fragment = "not a JSON object"
    elif how == "over max":
        count = MAX_BATCH + draw(st.integers(1, 4))
        document = {"data": [[0] * IMAGE_PIXELS for _ in range(count)]}
        fragment = f"batch of {count} images is over the maximum of {MAX_BATCH}"
    else:
        document, fragment = {"data": rows[0]}, "wrap a single image"
    return Case(f"json structure ({how})", json.dumps(document).encode(), status=400, fragment=fragment)


@st.composite
def broken_text_cases(draw: st.DrawFn) -> Case:
    """Truncated, prefixed, re-encoded or deeply nested bodies: not valid JSON (or too deep)."""
    rows = draw(valid_rows())
    text = json.dumps({"data": rows})
    how = draw(st.sampled_from(["truncated", "garbage prefix", "utf-16", "utf-32", "bom", "deep"]))
    if how == "truncated":
        body = text.encode()[: draw(st.integers(1, len(text) - 1))]
    elif how == "garbage prefix":
        body = (
            draw(st.text(min_size=1, max_size=5).filter(lambda t: t.strip() != "")).encode() + text.encode()
        )
    elif how in ("utf-16", "utf-32"):
        body = text.encode(how)  # with its BOM
    elif how == "bom":
        body = b"\xef\xbb\xbf" + text.encode()
    else:
        depth = draw(st.integers(200, 5000))
        body = ('{"data": ' + "[" * depth + "0.5" + "]" * depth + "}").encode()
        # Within orjson's depth limit (1024) it parses and is the wrong shape; beyond, it is not JSON.
        return Case(
            f"json nested {depth}", body, status=400, fragment="" if depth <= 1100 else "not valid JSON"
        )
    return Case(f"json {how}", body, status=400, fragment="not valid JSON")


@st.composite
def escaped_key_case(draw: st.DrawFn) -> Case:
    """The key "data" spelled with JSON escapes is still "data": a valid batch."""
    rows = draw(valid_rows())
    key = draw(st.sampled_from(["\\u0064ata", "d\\u0061ta", "\\u0064\\u0061\\u0074\\u0061"]))
    body = json.dumps({"data": rows}).replace('"data"', f'"{key}"', 1).encode()
    return _valid_json_case("json escaped key", rows, body)


_json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(["data"]) | st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=30,
)


@st.composite
def random_document_cases(draw: st.DrawFn) -> Case:
    """Arbitrary JSON documents (NaN/inf printed as Python's json prints them)."""
    document = draw(_json_values)
    images = reference_images(document, MAX_BATCH)
    body = json.dumps(document).encode()
    if images is not None:
        return Case("json random document (valid)", body, images=images)
    return Case("json random document", body, status=400)


@st.composite
def random_bytes_cases(draw: st.DrawFn) -> Case:
    body = draw(st.binary(max_size=4000))
    content_type = draw(st.sampled_from([JSON_CT, UINT8_CT, FLOAT32_CT]))
    if content_type == JSON_CT:
        try:
            images = reference_images(json.loads(body), MAX_BATCH)
        except (ValueError, RecursionError):
            images = None
        if images is not None:
            return Case("random bytes (valid JSON batch)", body, content_type, images=images)
        return Case("random bytes as JSON", body, content_type, status=400)
    image_bytes = IMAGE_PIXELS if content_type == UINT8_CT else FLOAT32_IMAGE_BYTES
    count, remainder = divmod(len(body), image_bytes)
    if remainder or count == 0:
        return Case(f"random bytes as {content_type}", body, content_type, status=400)
    pixels = np.frombuffer(body, dtype="<f4")
    if content_type == FLOAT32_CT and not bool(np.all((pixels >= 0) & (pixels <= 1))):
        return Case(
            "random bytes as float32 (out of range)", body, content_type, status=400, fragment="image "
        )
    return Case(f"random bytes as {content_type} (whole images)", body, content_type, images=count)


@st.composite
def uint8_cases(draw: st.DrawFn) -> Case:
    count = draw(st.integers(0, MAX_BATCH + 3))
    extra = draw(st.sampled_from([0, 0, 0]) | st.integers(-IMAGE_PIXELS + 1, IMAGE_PIXELS - 1))
    size = max(0, count * IMAGE_PIXELS + extra)
    body = (
        np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        .integers(0, 256, size, dtype=np.uint8)
        .tobytes()
    )
    content_type = draw(
        st.sampled_from([UINT8_CT, "application/octet-stream; dtype=uint8", "Application/Octet-Stream"])
    )
    if size == 0:
        return Case("uint8 empty", body, content_type, status=400, fragment="empty batch")
    if size % IMAGE_PIXELS:
        return Case("uint8 truncated", body, content_type, status=400, fragment="not a multiple of 784")
    if size // IMAGE_PIXELS > MAX_BATCH:
        return Case("uint8 over max", body, content_type, status=400, fragment="over the maximum")
    return Case("uint8 valid", body, content_type, images=size // IMAGE_PIXELS)


@st.composite
def float32_cases(draw: st.DrawFn) -> Case:
    count = draw(st.integers(1, MAX_BATCH))
    pixels = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).random(
        (count, IMAGE_PIXELS), dtype=np.float32
    )
    content_type = draw(
        st.sampled_from(
            [
                FLOAT32_CT,
                'application/octet-stream; dtype="float32"',
                "application/octet-stream;DTYPE=FLOAT32",
            ]
        )
    )
    how = draw(st.sampled_from(["valid", "bad value", "truncated"]))
    if how == "valid":
        return Case("float32 valid", pixels.astype("<f4").tobytes(), content_type, images=count)
    if how == "truncated":
        cut = draw(st.integers(1, FLOAT32_IMAGE_BYTES - 1))
        return Case(
            "float32 truncated",
            pixels.astype("<f4").tobytes()[:-cut],
            content_type,
            status=400,
            fragment="not a multiple of 3136",
        )
    i, j = draw(st.integers(0, count - 1)), draw(st.integers(0, IMAGE_PIXELS - 1))
    pixels[i, j] = draw(st.sampled_from([math.nan, math.inf, -math.inf, -1e-3, 1.5, 255.0, -0.5]))
    return Case(
        "float32 bad value",
        pixels.astype("<f4").tobytes(),
        content_type,
        status=400,
        fragment=f"image {i}, pixel {j} is",
    )


SUPPORTED_MEDIA_TYPES = {"application/json", "application/octet-stream"}


@st.composite
def content_type_cases(draw: st.DrawFn) -> Case:
    """Media types, charsets and dtypes the scorer does not read: 415 naming the header."""
    rows = draw(valid_rows())
    body = json.dumps({"data": rows}).encode()
    how = draw(st.sampled_from(["media type", "random media type", "charset", "dtype"]))
    if how == "media type":
        header = draw(
            st.sampled_from(
                [
                    "text/plain",
                    "application/xml",
                    "multipart/form-data; boundary=x",
                    "image/png",
                    "application/x-www-form-urlencoded",
                    "application/jsonl",
                    "application/json-patch+json",
                    "*/*",
                ]
            )
        )
    elif how == "random media type":
        header = draw(
            st.text(HEADER_CHARS.filter(lambda c: c != ";"), min_size=1, max_size=30).filter(
                lambda t: t.strip() != "" and t.strip().lower() not in SUPPORTED_MEDIA_TYPES
            )
        )
    elif how == "charset":
        charset = draw(st.sampled_from(["latin-1", "utf-16", "ascii", "iso-8859-1", ""]))
        header = f"application/json; charset={charset}"
    else:
        dtype = draw(st.sampled_from(["float64", "int8", "float16", "uint16", ""]))
        header = f"application/octet-stream; dtype={dtype}"
    return Case(f"content type ({how})", body, header.strip() or "x", status=415, fragment="is not supported")


ALL_POST_CASES = (
    valid_json_cases(),
    bad_value_cases(),
    bad_row_cases(),
    bad_structure_cases(),
    broken_text_cases(),
    escaped_key_case(),
    random_document_cases(),
    random_bytes_cases(),
    uint8_cases(),
    float32_cases(),
    content_type_cases(),
)


def post_cases() -> st.SearchStrategy[Case]:
    """Every POST case whose body is within the size limit."""
    return st.one_of(*ALL_POST_CASES)


@st.composite
def method_cases(draw: st.DrawFn) -> Case:
    method = draw(st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]))
    body = json.dumps({"data": _rows(0, 1, "int")}).encode() if method != "GET" else b""
    if method == "OPTIONS":
        return Case("method OPTIONS", body, method=method, status=200)
    return Case(f"method {method}", body, method=method, status=405, fragment="not allowed")


@st.composite
def oversized_cases(draw: st.DrawFn) -> Case:
    """Bodies over the limit: 413 before any parsing, whatever the content type says."""
    size = MAX_BODY + draw(st.integers(1, 3 * MAX_BODY))
    content_type = draw(st.sampled_from([JSON_CT, UINT8_CT, FLOAT32_CT]))
    filler = draw(st.sampled_from([b"[", b"0", b"\x00", b"\xff"]))
    return Case("oversized", filler * size, content_type, status=413, fragment="over the limit")


@st.composite
def cases(draw: st.DrawFn, chunked: bool = True) -> Case:
    """Any request /score may receive: POST cases, other methods, oversized bodies; some of
    them sent chunked (no declared length) when `chunked`."""
    case = draw(st.one_of(post_cases(), post_cases(), post_cases(), method_cases(), oversized_cases()))
    if case.method == "POST" and len(case.body) > MAX_BODY and case.status != 415:
        # Re-encoded (UTF-32) or padded bodies can pass the limit: the size is refused first,
        # only an unsupported Content-Type is refused before it.
        case = dataclasses.replace(
            case, status=413, fragment="over the limit", kind=case.kind + " (too large)"
        )
    if chunked and case.method == "POST" and draw(st.integers(0, 4)) == 0:
        case = dataclasses.replace(case, chunked=True, kind=case.kind + " chunked")
    return case


def check_reply(case: Case, status: int, content_type: str | None, body: bytes) -> None:
    """Assert that a reply (status, Content-Type, body) is what `case` demands."""
    assert status == case.status, f"{case!r}: status {status}, body {body[:300]!r}"
    if status == 200:
        if case.method == "OPTIONS":
            return
        assert content_type == "application/json", (case, content_type)
        digits = json.loads(body)
        assert isinstance(digits, list) and len(digits) == case.images, (case, body[:200])
        assert all(isinstance(d, int) and 0 <= d <= 9 for d in digits), (case, digits)
        return
    if case.method == "HEAD":
        return
    assert content_type == "application/json", (case, content_type, body[:300])
    message = json.loads(body)["message"]
    assert isinstance(message, str) and len(message) >= 10, (case, message)
    assert case.fragment in message, f"{case!r}: message {message!r} does not name {case.fragment!r}"
