"""Broken and hostile clients against the local target's scoring URI, over raw sockets.

The service is the real one: `model_service/` and a trained model deployed by `LocalBackend`
(front door + azmlinfsrv with 2 workers, harness/local_service.py). Each case must get the
server's own answer or a 4xx within bounded time, and a good request right after must be
answered at once (a worker held by the client would make it wait for the client timeout or the
deferred accept, several seconds).
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from deployment.local.inference_server import CLIENT_TIMEOUT_S, DEFER_ACCEPT_S, REQUEST_DEADLINE_S
from harness.local_service import local_service

pytestmark = pytest.mark.slow

GOOD_AFTER_S = 2.0
READ_TIMEOUT_S = 30.0
BODY = json.dumps({"data": [[0.5] * 784]}).encode()


@pytest.fixture(scope="module")
def port(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    state_dir = tmp_path_factory.mktemp("hostile") / "state"
    with local_service(trained_model_dir, state_dir, name="hostile", workers=2) as live:
        yield int(urlsplit(live.scoring_uri).port or 0)


def good_request(port: int) -> float:
    """Score one image through the scoring URI; the seconds it took."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=READ_TIMEOUT_S)
    try:
        connection.request("POST", "/score", BODY, {"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    assert response.status == 200, answer
    assert len(json.loads(answer)) == 1
    return time.monotonic() - started


def assert_good_right_after(port: int) -> None:
    assert good_request(port) < GOOD_AFTER_S


def head(content_length: int | str, *extra: str) -> bytes:
    lines = ["POST /score HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines += [f"Content-Length: {content_length}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(sock: socket.socket) -> int | None:
    """The status of the first reply on `sock` (None: closed without one); bounded in time."""
    sock.settimeout(READ_TIMEOUT_S)
    received = b""
    while b"\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        received += chunk
    return int(received.split(b" ", 2)[1])


def exchange(port: int, data: bytes, *, half_close: bool = True) -> tuple[int | None, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT_S) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return status_of(sock), time.monotonic() - started


def test_abandoned_bodies_do_not_block_the_service(port: int) -> None:
    for _ in range(2):  # as many as there are workers
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(head(len(BODY)) + BODY[: len(BODY) // 2])
    assert_good_right_after(port)


def test_a_stalled_body_is_cut_off_in_bounded_time_and_others_are_served(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as stalled:
        started = time.monotonic()
        stalled.sendall(head(len(BODY)) + BODY[:100])
        assert_good_right_after(port)  # the other worker
        status = status_of(stalled)
        elapsed = time.monotonic() - started
    assert status is None or 400 <= status < 500, status
    assert elapsed < CLIENT_TIMEOUT_S + 5
    assert_good_right_after(port)


def test_a_body_trickled_slower_than_any_timeout_is_cut_off_by_the_request_deadline(port: int) -> None:
    # One byte every 2 s never trips the per-recv client timeout; the request deadline ends it.
    with socket.create_connection(("127.0.0.1", port)) as trickler:
        started = time.monotonic()
        trickler.sendall(head(len(BODY)) + BODY[:100])
        assert_good_right_after(port)  # the other worker serves meanwhile
        answered = False
        for byte in BODY[100 : 100 + int(REQUEST_DEADLINE_S)]:
            answered = bool(select.select([trickler], [], [], 2.0)[0])
            if answered:
                break
            try:
                trickler.send(bytes([byte]))
            except OSError:  # the server closed the connection
                answered = True
                break
        assert answered, f"still reading the trickled body after {time.monotonic() - started:.0f} s"
        status = status_of(trickler)
        elapsed = time.monotonic() - started
    assert status == 400, status  # the entry script's answer to a body shorter than its length
    assert REQUEST_DEADLINE_S - 1 < elapsed < REQUEST_DEADLINE_S + 5, elapsed
    assert_good_right_after(port)


def test_a_body_shorter_than_its_length_gets_a_4xx(port: int) -> None:
    status, elapsed = exchange(port, head(len(BODY) + 1000) + BODY)
    assert status is not None and 400 <= status < 500, status
    assert elapsed < CLIENT_TIMEOUT_S + 5
    assert_good_right_after(port)


def test_two_different_content_lengths_get_a_400(port: int) -> None:
    status, elapsed = exchange(port, head(len(BODY), f"Content-Length: {len(BODY) + 1}") + BODY)
    assert status == 400
    assert elapsed < GOOD_AFTER_S
    assert_good_right_after(port)


def test_a_chunked_body_is_scored(port: int) -> None:
    lines = ["POST /score HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    request = ("\r\n".join([*lines, "Transfer-Encoding: chunked"]) + "\r\n\r\n").encode()
    request += b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
    status, _ = exchange(port, request)
    assert status == 200
    assert_good_right_after(port)


def test_expect_100_continue_gets_the_answer(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT_S) as sock:
        sock.sendall(head(len(BODY), "Expect: 100-continue"))
        sock.settimeout(1.0)  # curl's wait too: a server that sends no 100 gets the body anyway
        try:
            interim = sock.recv(65536)
        except TimeoutError:
            interim = b""
        sock.sendall(BODY)
        if interim.startswith(b"HTTP/1.1 100"):
            interim = interim.split(b"\r\n\r\n", 1)[1]
        status = int(interim.split(b" ", 2)[1]) if interim else status_of(sock)
    assert status == 200
    assert_good_right_after(port)


def test_oversized_headers_get_a_4xx(port: int) -> None:
    status, elapsed = exchange(port, head(len(BODY), "X-Padding: " + "a" * 65536) + BODY)
    assert status is not None and 400 <= status < 500, status
    assert elapsed < GOOD_AFTER_S
    assert_good_right_after(port)


def test_bytes_that_are_not_http_get_a_400(port: int) -> None:
    status, _ = exchange(port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n")
    assert status == 400
    assert_good_right_after(port)


def test_many_idle_connections_do_not_block_the_service(port: int) -> None:
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(64)]
    try:
        assert_good_right_after(port)
        # Each is answered 408 (or closed) once the kernel hands it over, after the deferred accept.
        started = time.monotonic()
        statuses = {status_of(sock) for sock in idle}
        assert statuses <= {408, None}, statuses
        assert time.monotonic() - started < 2 * DEFER_ACCEPT_S + 5
    finally:
        for sock in idle:
            sock.close()
    assert_good_right_after(port)
