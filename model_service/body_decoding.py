"""Content negotiation and request bodies: which encoding a Content-Type selects, and the images
a body holds in it; the digits back as JSON.

    application/json (or no Content-Type)   {"data": [[784 numbers in 0..1], ...]}  (json_decoding.py)
    application/octet-stream                uint8 pixels, 784 bytes per image (0..255)
    application/octet-stream; dtype=float32 little-endian float32 pixels in 0..1, 3136 bytes per image
"""

from __future__ import annotations

import enum
import functools

import numpy as np
import orjson
from image_checks import IMAGE_PIXELS, check_batch_size, check_pixel_range
from json_decoding import decode_json
from scoring_errors import InvalidInput, UnsupportedMediaType

FLOAT32_BYTES_PER_IMAGE = IMAGE_PIXELS * 4


class Encoding(enum.Enum):
    JSON = "application/json"
    UINT8 = "application/octet-stream"
    FLOAT32 = "application/octet-stream; dtype=float32"


SUPPORTED_CONTENT_TYPES = ", ".join(encoding.value for encoding in Encoding)


# Clients send the same few Content-Type values: each is parsed once per worker. Bounded, so
# that a client sending ever new values cannot grow it; refused values raise and are not kept.
@functools.lru_cache(maxsize=64)
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
    check_pixel_range(images, where="image {row}, pixel {col}")
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
    check_batch_size(count, max_batch)
    return np.frombuffer(body, dtype=dtype).reshape(count, IMAGE_PIXELS)


def encode_digits(digits: np.ndarray) -> bytes:
    """The JSON list of predicted digits, serialised from the int array without a Python loop."""
    return orjson.dumps(digits, option=orjson.OPT_SERIALIZE_NUMPY)
