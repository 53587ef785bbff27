"""The benchmark's load drivers: which one `auto` picks, and what wrk's summary is read as.

The parser is checked on wrk output captured from real runs (so it is tested where wrk is not
installed, as on CI); where wrk is installed it is also run for real against a stdlib HTTP server
that counts what it served.
"""

from __future__ import annotations

import math
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.drivers import DriverError, LoadSpec, parse_wrk_summary, resolve_driver, run_load
from deployment.local.inference_server import free_port

# `wrk -t1 -c8 -d2s --latency --timeout 30s -s post.lua` against azmlinfsrv 1.5.1 serving
# a constant-answer entry script (since removed) with 2 workers, the 1-image JSON body (gunicorn answers
# `Connection: close`, so wrk reconnects after each response and reports no socket errors).
WRK_OK = """\
Running 2s test @ http://127.0.0.1:37995/score
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.51ms  353.84us   5.74ms   74.41%
    Req/Sec     2.25k    97.54     2.32k    85.00%
  Latency Distribution
     50%    3.49ms
     75%    3.70ms
     90%    3.90ms
     99%    4.66ms
  4479 requests in 2.00s, 1.51MB read
Requests/sec:   2239.27
Transfer/sec:    774.12KB
"""

# The same command at -c4 -d1s against a stdlib server answering 500 over HTTP/1.1 and closing the
# connection without `Connection: close` (it served 2,114 requests): every response is a non-2xx,
# and Debian's wrk 4.1.0 also counts a read error for each close after a whole response.
WRK_500_AND_READ_ERRORS = """\
Running 1s test @ http://127.0.0.1:36649/score
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.79ms  522.00us   6.45ms   77.59%
    Req/Sec     1.93k   140.28     2.14k    63.64%
  Latency Distribution
     50%    1.74ms
     75%    2.05ms
     90%    2.36ms
     99%    3.47ms
  2112 requests in 1.10s, 340.31KB read
  Socket errors: connect 0, read 2111, write 0, timeout 0
  Non-2xx or 3xx responses: 2112
Requests/sec:   1920.16
Transfer/sec:    309.40KB
"""

needs_wrk = pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (make bench-tools installs it from Debian)"
)


def _which(*installed: str):
    return lambda tool: f"/usr/bin/{tool}" if tool in installed else None


@pytest.mark.parametrize(
    ("installed", "expected"),
    [(("wrk",), "wrk"), (("hey",), "python"), ((), "python")],
)
def test_auto_picks_wrk_then_python(installed: tuple[str, ...], expected: str) -> None:
    assert resolve_driver("auto", which=_which(*installed)) == expected


def test_a_named_driver_must_be_known_and_installed() -> None:
    with pytest.raises(ValueError, match=r"--loadgen wrk: wrk is not installed \(make bench-tools"):
        resolve_driver("wrk", which=_which("hey"))
    with pytest.raises(ValueError, match="expected one of auto, python, wrk"):
        resolve_driver("ab", which=_which("ab"))
    assert resolve_driver("wrk", which=_which("wrk")) == "wrk"
    assert resolve_driver("python", which=_which()) == "python"


def test_wrk_summary_of_a_clean_run() -> None:
    result = parse_wrk_summary(WRK_OK)
    assert (result.ok, result.errors, result.elapsed_s) == (4479, 0, 2.0)
    assert (result.p50_ms, result.p99_ms) == pytest.approx((3.49, 4.66))
    assert result.status_counts == {"<400": 4479, ">=400": 0, "0": 0}
    assert result.first_error == ""


def test_wrk_summary_counts_non_2xx_and_socket_errors_as_errors() -> None:
    result = parse_wrk_summary(WRK_500_AND_READ_ERRORS)
    assert (result.ok, result.errors, result.elapsed_s) == (0, 2112 + 2111, 1.1)
    assert math.isnan(result.p50_ms) and math.isnan(result.p99_ms)  # no 2xx response to time
    assert result.status_counts == {"<400": 0, ">=400": 2112, "0": 2111}
    assert result.first_error == (
        "wrk: 2112 responses with a status >= 400; socket errors: connect 0, read 2111, write 0, timeout 0"
    )


def test_wrk_summary_converts_every_time_unit_and_takes_timeouts_from_the_ok() -> None:
    text = (
        WRK_OK.replace("50%    3.49ms", "50%  812.00us")
        .replace("99%    4.66ms", "99%    1.20s")
        .replace("in 2.00s,", "in 1.50m,")
        .replace("Requests/sec", "  Socket errors: connect 1, read 0, write 0, timeout 3\nRequests/sec")
    )
    result = parse_wrk_summary(text)
    assert (result.p50_ms, result.p99_ms, result.elapsed_s) == pytest.approx((0.812, 1200.0, 90.0))
    # a timeout is a response that came too late: among the 4,479, but not ok
    assert (result.ok, result.errors) == (4479 - 3, 4)


def test_wrk_output_without_a_summary_is_an_error() -> None:
    with pytest.raises(DriverError, match="wrk printed no summary"):
        parse_wrk_summary("unable to connect to 127.0.0.1:1 Connection refused\n")


class _CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _CountingServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.record(body, self.headers["Content-Type"])
        payload = b"[0]"
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")  # as gunicorn's sync workers answer
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True

    def log_message(self, *_args: object) -> None:
        pass


class _CountingServer(ThreadingHTTPServer):
    """Answers every POST with `status`, counting the requests and the distinct bodies it read."""

    daemon_threads = True

    def __init__(self, status: int) -> None:
        super().__init__(("127.0.0.1", 0), _CountingHandler)
        self.status = status
        self.served = 0
        self.requests_seen: set[tuple[bytes, str]] = set()
        self._lock = threading.Lock()

    def record(self, body: bytes, content_type: str) -> None:
        with self._lock:
            self.served += 1
            self.requests_seen.add((body, content_type))

    def handle_error(self, _request: object, _client_address: object) -> None:
        pass  # wrk closes the connections still in flight at its deadline

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/score"


@contextmanager
def counting_server(status: int) -> Iterator[_CountingServer]:
    server = _CountingServer(status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    """A body in a directory whose name would break a naively quoted Lua string."""
    directory = tmp_path / 'odd "dir" ]] \\ é'
    directory.mkdir()
    path = directory / "body.json"
    path.write_bytes(b'{"data": [[0.0, 1.0, 255.0]]}\n')
    return path


CONCURRENCY = 4
CONTENT_TYPE = "application/json; charset=utf-8"


@pytest.mark.slow
@needs_wrk
def test_wrk_run_counts_what_the_server_served(body_file: Path) -> None:
    with counting_server(200) as server:
        spec = LoadSpec(server.url, body_file, CONTENT_TYPE, CONCURRENCY, 1.0, 1_000_000, grace_s=5.0)
        result = run_load("wrk", spec)
    assert result.errors == 0, result.first_error
    assert server.requests_seen == {(body_file.read_bytes(), CONTENT_TYPE)}
    # wrk stops at its deadline without waiting: up to one request per connection is served unseen
    assert result.ok <= server.served <= result.ok + CONCURRENCY, (result, server.served)
    assert result.ok > 0 and 1.0 <= result.elapsed_s < 3.0
    assert 0 < result.p50_ms <= result.p99_ms < 1000 * result.elapsed_s
    assert sum(result.status_counts.values()) == result.ok + result.errors
    assert result.client_cpu_s > 0


@pytest.mark.slow
@needs_wrk
def test_wrk_run_counts_error_statuses_as_errors(body_file: Path) -> None:
    with counting_server(500) as server:
        spec = LoadSpec(server.url, body_file, CONTENT_TYPE, CONCURRENCY, 1.0, 1_000_000, grace_s=5.0)
        result = run_load("wrk", spec)
    assert result.ok == 0 and result.errors > 0
    assert result.errors <= server.served <= result.errors + CONCURRENCY, (result, server.served)
    assert result.status_counts == {"<400": 0, ">=400": result.errors, "0": 0}
    assert math.isnan(result.p99_ms)
    assert "status >= 400" in result.first_error


@needs_wrk
def test_wrk_that_cannot_connect_raises_with_its_message(body_file: Path) -> None:
    spec = LoadSpec(f"http://127.0.0.1:{free_port()}/score", body_file, CONTENT_TYPE, 1, 1.0, 10)
    with pytest.raises(DriverError, match="wrk exited with 1: unable to connect"):
        run_load("wrk", spec)
