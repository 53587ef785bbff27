"""Azure ML entry script: `init()` and `run()` over one `Scorer` (model_service/scorer.py).

azmlinfsrv (Azure ML's inference server) loads this file by path and calls `init()` once per
worker, then `run(request)` per request. `run` is decorated with `@rawhttp`, so it receives the
Flask request itself and returns an `AMLResponse` with its own status: invalid input is a 4xx
with a JSON `{"message": ...}` naming the problem, never the server's generic 500.

    POST /score  Content-Type: application/json (or none)   {"data": [[784 numbers in 0..1], ...]}
                 Content-Type: application/octet-stream     uint8 pixels, 784 bytes per image
                 Content-Type: application/octet-stream; dtype=float32   float32 LE, 3136 bytes per image
             ->  200 application/json [7, 2, 1, ...]  (one predicted digit per image)

Settings come from the environment, read once in `init()`: the table in scoring_settings.py
(AZUREML_MODEL_DIR and the SCORE_* variables; docs/scoring.md explains each).

azmlinfsrv executes this file by path as a top-level module, and Azure ML uploads this directory
alone, so the scoring modules beside it are top-level modules too: this file puts its directory
on sys.path once, and every scoring module imports its siblings by their plain names.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

_SOURCE_DIR = str(Path(__file__).resolve().parent)
if _SOURCE_DIR not in sys.path:
    # Appended, not prepended: the scoring modules' names are their own (a test checks that
    # nothing installed shares them), and this directory must not shadow installed packages.
    sys.path.append(_SOURCE_DIR)

import orjson  # noqa: E402
from azureml_inference_server_http.api.aml_request import rawhttp  # noqa: E402
from azureml_inference_server_http.api.aml_response import AMLResponse  # noqa: E402
from body_decoding import parse_content_type  # noqa: E402
from json_decoding import JSON_EXAMPLE  # noqa: E402
from scorer import Scorer  # noqa: E402
from scoring_errors import (  # noqa: E402
    InvalidInput,
    MethodNotAllowed,
    NotReady,
    PayloadTooLarge,
    ScoringError,
    UnsupportedMediaType,
)
from scoring_settings import ENV_MAX_BODY_BYTES, ScorerRuntimeSettings  # noqa: E402
from werkzeug.exceptions import RequestEntityTooLarge  # noqa: E402

if TYPE_CHECKING:
    from flask import Request

_JSON_HEADERS = {"Content-Type": "application/json"}
_ALLOWED_METHODS = "POST, OPTIONS"


class ScoringService:
    """Azure ML's init()/run() contract over one Scorer: HTTP in, HTTP out."""

    def __init__(self) -> None:
        self._scorer: Scorer | None = None

    @property
    def scorer(self) -> Scorer | None:
        return self._scorer

    def init(self, environ: Mapping[str, str]) -> None:
        """Read the settings from `environ`, load and warm the model. Raises SettingsError or
        ModelLoadError; azmlinfsrv then logs the error and the model directory's files and exits."""
        scorer = Scorer(ScorerRuntimeSettings.from_env(environ))
        scorer.load()
        self._scorer = scorer

    def run(self, request: Request) -> AMLResponse:
        """One /score request -> 200 with the digits, or a 4xx/503 with {"message": ...}."""
        try:
            return self._score(request)
        except ScoringError as error:
            headers = dict(_JSON_HEADERS)
            if isinstance(error, MethodNotAllowed):
                headers["Allow"] = _ALLOWED_METHODS
            return AMLResponse(orjson.dumps({"message": str(error)}), error.status, headers)

    def _score(self, request: Request) -> AMLResponse:
        if request.method == "OPTIONS":  # CORS pre-flight; flask-cors adds its headers when enabled
            return AMLResponse(b"", 200, {"Allow": _ALLOWED_METHODS})
        if request.method != "POST":
            raise MethodNotAllowed(
                f"method {request.method} is not allowed on /score (allowed: POST); "
                f"send images as {JSON_EXAMPLE}"
            )
        scorer = self._scorer
        if scorer is None or not scorer.ready:
            raise NotReady("the model is not loaded yet")
        # The two headers straight from the WSGI environ: werkzeug's `request.headers.get` builds
        # its key per call and raises and catches a KeyError for an absent header, a measurable
        # share of a 1-image request (docs/performance.md).
        environ = request.environ
        encoding = parse_content_type(environ.get("CONTENT_TYPE"))
        coding = environ.get("HTTP_CONTENT_ENCODING")
        if coding is not None and (coding := coding.strip().lower()) not in ("", "identity"):
            raise UnsupportedMediaType(
                f"Content-Encoding {coding!r} is not supported: send the body uncompressed"
            )
        body = _read_body(request, scorer.settings.max_body_bytes)
        return AMLResponse(scorer.score(body, encoding), 200, _JSON_HEADERS)


def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 before it is read (declared length) or as soon as it passes
    `limit` (chunked bodies), so an oversized request is never held in memory or parsed."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(_too_large(f"{declared} bytes", limit))
    if declared is not None:
        return _read_declared_body(request, declared)
    # werkzeug stops a chunked body quietly at max_content_length (no error): allow one byte more
    # than the limit, so a body that reaches it is seen as too large instead of being truncated.
    request.max_content_length = limit + 1
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        body = None
    except Exception as error:  # broken chunked framing, or a client that stopped sending
        raise InvalidInput(
            f"the request body could not be read ({error}): send the whole body with a "
            "Content-Length or valid chunked encoding"
        ) from None
    if body is None or len(body) > limit:
        raise PayloadTooLarge(_too_large("more bytes", limit))
    return body


def _read_declared_body(request: Request, declared: int) -> bytes:
    """A body of known length (already checked against the limit), read in one call.

    werkzeug's get_data() reads 64 KiB at a time, and gunicorn's reader copies what it has read
    ahead on every such call: for a large JSON batch a large share of a request's time (py-spy,
    docs/performance.md); one read of the declared length costs a few copies of the body.
    """
    try:
        body = request.input_stream.read(declared)
    except Exception as error:  # the client reset the connection or stopped sending
        raise InvalidInput(
            f"the request body could not be read ({error}): send the whole body its Content-Length declares"
        ) from None
    if len(body) != declared:
        raise InvalidInput(
            f"body ended after {len(body)} of the {declared} bytes its Content-Length declares: "
            "the request was cut short"
        )
    return body


def _too_large(size: str, limit: int) -> str:
    return f"body of {size} is over the limit of {limit} bytes ({ENV_MAX_BODY_BYTES}); split the batch"


_SERVICE = ScoringService()


def init() -> None:
    """Called once per worker by azmlinfsrv (AZUREML_MODEL_DIR is set by Azure ML or --model_dir)."""
    _SERVICE.init(os.environ)


@rawhttp
def run(request: Any) -> AMLResponse:
    """Called per request by azmlinfsrv with the Flask request (@rawhttp)."""
    return _SERVICE.run(request)
