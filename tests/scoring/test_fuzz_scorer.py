"""Property-based fuzzing of the scorer: random and near-valid request bodies, content types and
methods, each with the answer the scoring contract (docs/scoring.md) demands.

The cases and their oracle come from harness/fuzz_cases.py (`cases()`); they drive three levels:

    decode     parse_content_type + decode_body: the pure functions, thousands of cases a second
    service    the entry script's ScoringService.run over real werkzeug requests, real model
    http       a real azmlinfsrv over real HTTP (test_fuzz_http.py, harness/fuzz_http.py)

FUZZ_EXAMPLES sets the examples per property (default: a CI-sized count, see `fuzz_examples`).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from typing import Any

import body_decoding
import numpy as np
import scoring_errors
from flask import Request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder

from harness.fuzz_cases import (
    HEADER_CHARS,
    IMAGE_PIXELS,
    JSON_CT,
    MAX_BATCH,
    MAX_BODY,
    SUPPORTED_MEDIA_TYPES,
    Case,
    cases,
    check_reply,
    float32_cases,
    post_cases,
    uint8_cases,
    valid_json_cases,
)
from model_service import score

FUZZ_EXAMPLES_ENV = "FUZZ_EXAMPLES"
WARMUP_BATCHES = "1"  # the `service` fixture's (conftest.py), with fuzz_cases' MAX_BATCH and MAX_BODY


def fuzz_examples(default: int) -> int:
    """Examples per property: FUZZ_EXAMPLES when set (a positive integer), else `default`."""
    raw = os.environ.get(FUZZ_EXAMPLES_ENV, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{FUZZ_EXAMPLES_ENV}: {raw!r} is not allowed (allowed: an integer >= 1)")
    return int(raw)


def fuzz_settings(default_examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=fuzz_examples(default_examples),
        deadline=None,  # a real model and a real server: latency is measured in bench/, not here
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---------------------------------------------------------------------------------------------
# Level 1: the pure decoding functions


@fuzz_settings(600)
@given(case=post_cases())
def test_decoding_accepts_exactly_the_valid_bodies_and_names_every_problem(case: Case) -> None:
    try:
        encoding = body_decoding.parse_content_type(case.content_type)
        images = body_decoding.decode_body(case.body, encoding, MAX_BATCH)
    except scoring_errors.ScoringError as error:
        assert case.status == error.status, f"{case!r}: refused with {error.status}: {error}"
        assert case.fragment in str(error), f"{case!r}: {error} does not name {case.fragment!r}"
        return
    assert case.status == 200, f"{case!r}: accepted, shape {images.shape}"
    assert images.shape == (case.images, IMAGE_PIXELS)
    if images.dtype == np.float32:
        assert bool(np.all((images >= 0) & (images <= 1))), "a value outside 0..1 got through"
    else:
        assert images.dtype == np.uint8


@fuzz_settings(300)
@given(header=st.text(HEADER_CHARS, max_size=60))
def test_any_content_type_header_selects_an_encoding_or_is_refused_by_name(header: str) -> None:
    try:
        encoding = body_decoding.parse_content_type(header)
    except scoring_errors.UnsupportedMediaType as error:
        assert repr(header) in str(error) and error.status == 415
        return
    media_type = header.split(";")[0].strip().lower()
    assert media_type in ("", *SUPPORTED_MEDIA_TYPES), (header, encoding)


# ---------------------------------------------------------------------------------------------
# Level 2: the entry script over real werkzeug requests and the real model


class CountingStream(io.BytesIO):
    """The request's input stream, counting the bytes the service reads from it."""

    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


def werkzeug_request(case: Case) -> tuple[Request, CountingStream]:
    """The Flask request gunicorn would hand azmlinfsrv for `case` (chunked: no length, an
    input terminated by the server, as gunicorn marks it)."""
    stream = CountingStream(case.body)
    headers = {"Content-Type": case.content_type} if case.content_type is not None else {}
    builder = EnvironBuilder(path="/score", method=case.method, headers=headers, input_stream=stream)
    environ = builder.get_environ()
    if case.chunked:
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    else:
        environ["CONTENT_LENGTH"] = str(len(case.body))
    return Request(environ), stream


@fuzz_settings(300)
@given(case=cases())
def test_entry_script_answers_every_request_as_the_contract_says(
    service: score.ScoringService, case: Case
) -> None:
    request, stream = werkzeug_request(case)
    response = service.run(request)
    check_reply(case, response.status_code, response.headers.get("Content-Type"), response.get_data())
    if case.status == 413 and not case.chunked:
        assert stream.bytes_read == 0, f"{case!r}: read {stream.bytes_read} bytes of an oversized body"
    if case.status == 413 and case.chunked:
        assert stream.bytes_read <= MAX_BODY + 64 * 1024, f"{case!r}: read {stream.bytes_read} bytes"


def test_a_huge_declared_body_is_refused_without_reading_a_byte(service: score.ScoringService) -> None:
    case = Case("declared 8 GiB", b"[" * 1024, JSON_CT, status=413, fragment="over the limit")
    request, stream = werkzeug_request(case)
    request.environ["CONTENT_LENGTH"] = str(8 * 1024**3)
    response = service.run(request)
    assert response.status_code == 413
    assert str(8 * 1024**3) in json.loads(response.get_data())["message"]
    assert stream.bytes_read == 0


@fuzz_settings(40)
@given(case=st.one_of(valid_json_cases(), uint8_cases(), float32_cases()).filter(lambda c: c.status == 200))
def test_accepted_bodies_score_like_the_model_on_the_decoded_images(
    service: score.ScoringService, case: Case
) -> None:
    request, _ = werkzeug_request(case)
    response = service.run(request)
    assert response.status_code == 200, (case, response.get_data())
    encoding = body_decoding.parse_content_type(case.content_type)
    images = body_decoding.decode_body(case.body, encoding, MAX_BATCH)
    assert service.scorer is not None
    assert json.loads(response.get_data()) == service.scorer.predict(images).tolist()
