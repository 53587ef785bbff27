"""Fuzzing the entry script inside a real azmlinfsrv over real HTTP, through the local target's
scoring URI: the service is deployed by the real LocalBackend (what `pulumi up` runs on the
local stack), with the fuzz's small limits set as the stack sets them (`ScoringSettings`, the
`scoring` config section), and every case goes through the front door's port.

Every case of harness/fuzz_cases.py `cases()` (random and near-valid bodies, content types, methods,
oversized and chunked bodies) is sent over a raw socket, and the reply must be what the case
demands: the right status, a message naming the problem, never a 5xx. Afterwards the server must
be the same server: no worker crashed or was restarted (`WorkerWatch`: the release's gunicorn
master's worker pids and the release's server.log), and it still scores.

`abuse_cases` (harness/fuzz_wire.py) draws broken HTTP framing (bodies shorter than their
Content-Length, cut or malformed chunked encoding, invalid framing headers, compressed bodies,
overlong request ids) with the reply each must get; a test sends them too. harness/fuzz_http.py
sends the same cases at benchmark size (>= 10,000) and prints the figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deployment.local.handle import LocalHandle
from deployment.settings import ScoringSettings
from harness.fuzz_cases import FLOAT32_CT, JSON_CT, MAX_BATCH, MAX_BODY, UINT8_CT, Case, cases, check_reply
from harness.fuzz_wire import WorkerWatch, abuse_cases, check_abuse_reply, request_bytes, send, valid_uint8
from harness.local_service import local_service
from tests.scoring.test_fuzz_scorer import fuzz_settings

pytestmark = pytest.mark.slow

# ---------------------------------------------------------------------------------------------
# The server and the tests


# The fuzz's limits, set through the stack's scoring settings.
FUZZ_SCORING = ScoringSettings(max_batch=MAX_BATCH, max_body_bytes=MAX_BODY, warmup_batches=(1,))


@dataclass(frozen=True)
class Service:
    port: int  # the scoring URI's
    release_port: int  # the release's own (its gunicorn master is found by it)
    log_path: Path  # the release's server.log


@pytest.fixture(scope="module")
def server(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    state_dir = tmp_path_factory.mktemp("fuzz-state")
    with local_service(trained_model_dir, state_dir, name="fuzz", workers=1, scoring=FUZZ_SCORING) as live:
        release = LocalHandle.from_dict(live.handle).release
        port = urlsplit(live.scoring_uri).port
        assert port is not None and port != release.port
        yield Service(port, release.port, release.log_path)


@pytest.fixture(scope="module")
def watch(server: Service) -> WorkerWatch:
    return WorkerWatch(server.release_port, server.log_path)


def assert_same_server_still_scoring(server: Service, watch: WorkerWatch) -> None:
    reply = send(server.port, request_bytes(Case("probe", valid_uint8(2), UINT8_CT, images=2), server.port))
    assert reply.status == 200 and len(json.loads(reply.body)) == 2, reply
    assert watch.changes() == ""
    assert watch.server_errors() == []


@fuzz_settings(300)
@given(case=cases())
def test_every_fuzzed_request_gets_the_reply_the_contract_demands(
    server: Service, watch: WorkerWatch, case: Case
) -> None:
    reply = send(server.port, request_bytes(case, server.port), method=case.method)
    check_reply(case, reply.status, reply.content_type, reply.body)


@fuzz_settings(60)
@given(data=st.data())
def test_broken_http_framing_is_refused_with_a_4xx_naming_it(
    server: Service, watch: WorkerWatch, data: st.DataObject
) -> None:
    case = data.draw(abuse_cases(server.port))
    check_abuse_reply(case, send(server.port, case.data, half_close=case.half_close))


def test_a_body_declared_far_over_the_limit_is_refused_before_it_is_sent(
    server: Service, watch: WorkerWatch
) -> None:
    """Only the headers of a 64 GiB upload are sent: a server that tried to read the body before
    refusing would wait for bytes that never come (SEND_TIMEOUT_S), not answer 413."""
    head = (
        f"POST /score HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: {JSON_CT}\r\n"
        f"Content-Length: {64 * 1024**3}\r\n\r\n"
    )
    reply = send(server.port, head.encode() + b'{"data": [[')
    assert reply.status == 413
    assert f"{64 * 1024**3} bytes is over the limit of {MAX_BODY}" in json.loads(reply.body)["message"]


def test_a_chunked_body_over_the_limit_is_refused_after_the_limit(
    server: Service, watch: WorkerWatch
) -> None:
    case = Case("chunked 10x", b"\x00" * (10 * MAX_BODY), FLOAT32_CT, status=413, chunked=True)
    reply = send(server.port, request_bytes(case, server.port, chunk_size=65536))
    assert reply.status == 413 and "over the limit" in json.loads(reply.body)["message"]


def test_after_the_fuzzing_the_same_workers_still_score_and_no_5xx_was_logged(
    server: Service, watch: WorkerWatch
) -> None:
    """Runs last in this module (pytest keeps file order): covers every request sent above."""
    assert_same_server_still_scoring(server, watch)
