"""One scoring request as the how-to's client sends it: JSON out, digits back, errors by kind.

Errors (all `ClientError`; the exit status `python -m model_tools.client` gives in brackets):

    ClientError
     ├── ServiceUnreachable    [3] connection refused, unknown host, no answer in time
     ├── AuthenticationFailed  [4] 401/403: missing or wrong key
     ├── ServiceError          [5] any other 4xx/5xx, with the server's own message
     └── BadResponse           [5] a 200 whose body is not one digit per image

A key never appears in an error message.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request

import numpy as np

from model_tools import mnist

DEFAULT_TIMEOUT_S = 30.0
# Exit statuses of `python -m model_tools.client`, one per kind of error.
EXIT_UNREACHABLE = 3
EXIT_AUTH = 4
EXIT_SERVICE = 5
_MESSAGE_LIMIT = 500  # characters of a server's error body worth showing

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
