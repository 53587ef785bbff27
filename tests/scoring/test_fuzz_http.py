"""Fuzzing the entry script inside a real azmlinfsrv over real HTTP.

Every case of bench/fuzz_cases.py `cases()` (random and near-valid bodies, content types, methods,
oversized and chunked bodies) is sent over a raw socket, and the reply must be what the case
demands: the right status, a message naming the problem, never a 5xx. Afterwards the server must
be the same server: no worker crashed or was restarted (`WorkerWatch`: the gunicorn master's
worker pids and its log), and it still scores.

`abuse_cases` (bench/fuzz_wire.py) draws broken HTTP framing (bodies shorter than their
Content-Length, cut or malformed chunked encoding, invalid framing headers, compressed bodies,
overlong request ids) with the reply each must get; a test sends them too. bench/fuzz_http.py
sends the same cases at benchmark size (>= 10,000) and prints the figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.fuzz_cases import FLOAT32_CT, JSON_CT, MAX_BATCH, MAX_BODY, UINT8_CT, Case, cases, check_reply
from bench.fuzz_wire import WorkerWatch, abuse_cases, check_abuse_reply, request_bytes, send, valid_uint8
from tests.scoring.server import ENTRY_SCRIPT, AzmlinfsrvProcess
from tests.scoring.test_fuzz_scorer import fuzz_settings

pytestmark = pytest.mark.slow

# ---------------------------------------------------------------------------------------------
# The server and the tests


@pytest.fixture(scope="module")
def server(trained_model_dir: Path) -> Iterator[AzmlinfsrvProcess]:
    process = AzmlinfsrvProcess(
        ENTRY_SCRIPT,
        trained_model_dir,
        workers=1,
        env={
            "SCORE_MAX_BATCH": str(MAX_BATCH),
            "SCORE_MAX_BODY_BYTES": str(MAX_BODY),
            "SCORE_WARMUP_BATCHES": "1",
        },
    )
    try:
        process.start()
        yield process
    finally:
        process.close()


@pytest.fixture(scope="module")
def watch(server: AzmlinfsrvProcess) -> WorkerWatch:
    assert server.port is not None
    return WorkerWatch(server.port, server.log_path)


def assert_same_server_still_scoring(server: AzmlinfsrvProcess, watch: WorkerWatch) -> None:
    assert server.port is not None
    reply = send(server.port, request_bytes(Case("probe", valid_uint8(2), UINT8_CT, images=2), server.port))
    assert reply.status == 200 and len(json.loads(reply.body)) == 2, reply
    assert watch.changes() == ""
    assert watch.server_errors() == []


@fuzz_settings(300)
@given(case=cases())
def test_every_fuzzed_request_gets_the_reply_the_contract_demands(
    server: AzmlinfsrvProcess, watch: WorkerWatch, case: Case
) -> None:
    assert server.port is not None
    reply = send(server.port, request_bytes(case, server.port), method=case.method)
    check_reply(case, reply.status, reply.content_type, reply.body)


@fuzz_settings(60)
@given(data=st.data())
def test_broken_http_framing_is_refused_with_a_4xx_naming_it(
    server: AzmlinfsrvProcess, watch: WorkerWatch, data: st.DataObject
) -> None:
    assert server.port is not None
    case = data.draw(abuse_cases(server.port))
    check_abuse_reply(case, send(server.port, case.data, half_close=case.half_close))


def test_a_body_declared_far_over_the_limit_is_refused_before_it_is_sent(
    server: AzmlinfsrvProcess, watch: WorkerWatch
) -> None:
    """Only the headers of a 64 GiB upload are sent: a server that tried to read the body before
    refusing would wait for bytes that never come (SEND_TIMEOUT_S), not answer 413."""
    assert server.port is not None
    head = (
        f"POST /score HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: {JSON_CT}\r\n"
        f"Content-Length: {64 * 1024**3}\r\n\r\n"
    )
    reply = send(server.port, head.encode() + b'{"data": [[')
    assert reply.status == 413
    assert f"{64 * 1024**3} bytes is over the limit of {MAX_BODY}" in json.loads(reply.body)["message"]


def test_a_chunked_body_over_the_limit_is_refused_after_the_limit(
    server: AzmlinfsrvProcess, watch: WorkerWatch
) -> None:
    assert server.port is not None
    case = Case("chunked 10x", b"\x00" * (10 * MAX_BODY), FLOAT32_CT, status=413, chunked=True)
    reply = send(server.port, request_bytes(case, server.port, chunk_size=65536))
    assert reply.status == 413 and "over the limit" in json.loads(reply.body)["message"]


def test_after_the_fuzzing_the_same_workers_still_score_and_no_5xx_was_logged(
    server: AzmlinfsrvProcess, watch: WorkerWatch
) -> None:
    """Runs last in this module (pytest keeps file order): covers every request sent above."""
    assert_same_server_still_scoring(server, watch)
