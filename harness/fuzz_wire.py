"""Fuzz requests over raw sockets: `request_bytes` and `send`, broken HTTP framing with the reply
each must get (`abuse_cases`), and a watch on the server's workers (`WorkerWatch`).

Shared by tests/scoring/test_fuzz_http.py and harness/fuzz_http.py.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from harness.fuzz_cases import IMAGE_PIXELS, MAX_BATCH, UINT8_CT, Case

SEND_TIMEOUT_S = 60.0  # a server that waits for bytes that never come fails the case, not the run
# gunicorn's log lines when a worker dies, is killed or replaced (arbiter.py, workers/base.py).
WORKER_EVENTS = re.compile(
    r"Booting worker|WORKER TIMEOUT|Worker exiting|was sent SIG|Worker \(pid:\d+\) exited|"
    r"Worker with pid \d+ was terminated|Shutting down: Master"
)


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str | None
    body: bytes


def request_bytes(case: Case, port: int, *, extra_headers: str = "", chunk_size: int = 4096) -> bytes:
    """`case` as the bytes of an HTTP/1.1 request (chunked when the case says so)."""
    head = f"{case.method} /score HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    if case.content_type is not None:
        head += f"Content-Type: {case.content_type}\r\n"
    head += extra_headers
    if not case.chunked:
        return (head + f"Content-Length: {len(case.body)}\r\n\r\n").encode("latin-1") + case.body
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(case.body[i : i + chunk_size]), case.body[i : i + chunk_size])
        for i in range(0, len(case.body), chunk_size)
    )
    return (head + "Transfer-Encoding: chunked\r\n\r\n").encode("latin-1") + chunks + b"0\r\n\r\n"


def send(port: int, data: bytes, *, method: str = "POST", half_close: bool = False) -> Reply:
    """Send raw request bytes to 127.0.0.1:`port` and read the reply. A server that answers
    before reading the whole body (413) may close while we still send: the reply still counts."""
    with socket.create_connection(("127.0.0.1", port), timeout=SEND_TIMEOUT_S) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        body = response.read() if method != "HEAD" else b""
        return Reply(response.status, response.getheader("Content-Type"), body)


# ---------------------------------------------------------------------------------------------
# HTTP-level abuse: framing the entry script never sees in the in-process tests


@dataclass(frozen=True)
class AbuseCase:
    """Raw request bytes and the reply they must get: `status`, and `fragment` in the message
    (a JSON message from the entry script or azmlinfsrv, or gunicorn's own HTML error page)."""

    kind: str
    data: bytes
    status: int
    fragment: str
    half_close: bool = False

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:  # how hypothesis prints a case
        printer.text(repr(self))

    def __repr__(self) -> str:
        return f"AbuseCase({self.kind!r} -> {self.status} {self.fragment!r}, request={self.data[:300]!r})"


def valid_uint8(images: int) -> bytes:
    return bytes(range(256)) * (images * IMAGE_PIXELS // 256) + bytes(images * IMAGE_PIXELS % 256)


@st.composite
def abuse_cases(draw: st.DrawFn, port: int) -> AbuseCase:
    how = draw(
        st.sampled_from(
            [
                "short body",
                "cut chunked",
                "bad chunk size",
                "bad chunk end",
                "bad content-length",
                "unknown transfer-encoding",
                "content-encoding",
                "long request id",
            ]
        )
    )
    head = f"POST /score HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    images = draw(st.integers(1, MAX_BATCH - 1))
    body = valid_uint8(images)
    head += f"Content-Type: {UINT8_CT}\r\n"
    if how == "short body":
        # The client promises more than it sends, then stops sending (half-close): whole images
        # arrived, the rest never will. Scoring what arrived would be a prediction from a torso.
        declared = len(body) + IMAGE_PIXELS * draw(st.integers(1, 3))
        data = f"{head}Content-Length: {declared}\r\n\r\n".encode() + body
        return AbuseCase(how, data, 400, "Content-Length", half_close=True)
    if how == "cut chunked":
        cut = draw(st.integers(1, len(body) - 1))
        data = f"{head}Transfer-Encoding: chunked\r\n\r\n{len(body):x}\r\n".encode() + body[:cut]
        return AbuseCase(how, data, 400, "body", half_close=True)
    if how == "bad chunk size":
        size = draw(st.sampled_from(["zz", "-1", "0x10", "1 2", "fffffffffffffffffffff"]))
        data = f"{head}Transfer-Encoding: chunked\r\n\r\n{size}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        return AbuseCase(how, data, 400, "chunk", half_close=True)
    if how == "bad chunk end":
        data = f"{head}Transfer-Encoding: chunked\r\n\r\n{len(body):x}\r\n".encode() + body + b"XX0\r\n\r\n"
        return AbuseCase(how, data, 400, "chunk", half_close=True)
    if how == "bad content-length":
        value = draw(st.sampled_from(["abc", "-5", "1e3", "12, 12", " ", "0x310"]))
        data = f"{head}Content-Length: {value}\r\n\r\n".encode() + body
        return AbuseCase(how, data, 400, "content-length", half_close=True)
    if how == "unknown transfer-encoding":
        # Codings gunicorn knows but refuses here (400). Unknown ones (br, x-...) it answers 501
        # itself, before the app (RFC 9112 §6.1): harness/fuzz_http.py reports those on their own.
        coding = draw(st.sampled_from(["gzip", "deflate", "identity", "compress"]))
        data = f"{head}Transfer-Encoding: {coding}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        return AbuseCase(how, data, 400, "transfer-encoding", half_close=True)
    if how == "content-encoding":
        # A compressed body the server does not decompress: refused, never scored as pixels.
        coding = draw(st.sampled_from(["gzip", "deflate", "br", "compress"]))
        data = f"{head}Content-Encoding: {coding}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        return AbuseCase(how, data, 415, "Content-Encoding")
    request_id = "r" * draw(st.integers(101, 4000))
    data = f"{head}x-request-id: {request_id}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    return AbuseCase(how, data, 431, "x-request-id")


def check_abuse_reply(case: AbuseCase, reply: Reply) -> None:
    assert reply.status == case.status, f"{case.kind}: status {reply.status}, body {reply.body[:300]!r}"
    if reply.content_type == "application/json":
        message = json.loads(reply.body)["message"]
    else:  # gunicorn refuses broken framing itself, with a small HTML page naming the header
        message = reply.body.decode("utf-8", errors="replace")
    assert case.fragment.lower() in message.lower(), (
        f"{case.kind}: {message!r} does not name {case.fragment!r}"
    )


# ---------------------------------------------------------------------------------------------
# Worker crashes and restarts


def master_pid(port: int) -> int:
    """The azmlinfsrv (gunicorn master, started by release_launcher.py or the console script)
    process serving `port`: of the processes with that port
    on their command line (gunicorn's forked workers share the master's), the one whose parent
    is not one of them."""
    needle = f"--port\0{port}\0".encode()
    found: dict[int, int] = {}  # pid -> parent pid
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes() + b"\0"
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if needle in cmdline and (b"azmlinfsrv" in cmdline or b"release_launcher" in cmdline):
            found[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    masters = [pid for pid, parent in found.items() if parent not in found]
    if len(masters) != 1:
        raise LookupError(f"expected one azmlinfsrv master with --port {port}, found {masters}")
    return masters[0]


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


class WorkerWatch:
    """Worker pids and gunicorn's worker events, now versus when the watch started: a worker that
    crashed, timed out or was replaced changes the pid set or adds an event line to the log."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.master = master_pid(port)
        self.log_path = log_path
        self.workers = children(self.master)
        self._log_offset = log_path.stat().st_size

    def new_events(self) -> list[str]:
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            text = log.read().decode("utf-8", errors="replace")
        return [line for line in text.splitlines() if WORKER_EVENTS.search(line)]

    def server_errors(self) -> list[str]:
        """Log lines of 5xx responses and tracebacks since the watch started."""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            text = log.read().decode("utf-8", errors="replace")
        return [line for line in text.splitlines() if re.search(r'" 5\d\d |/score 5\d\d |Traceback', line)]

    def changes(self) -> str:
        """'' when the same workers still run and no worker event was logged; else what changed."""
        now = children(self.master) if Path(f"/proc/{self.master}").exists() else set()
        problems = []
        if now != self.workers:
            problems.append(f"worker pids {sorted(self.workers)} -> {sorted(now)}")
        problems += self.new_events()
        return "; ".join(problems)
