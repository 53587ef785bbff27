"""Fixtures of the deployment tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.provider_host import kill_everything_under


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A state dir for this test; anything still running from it afterwards is killed (a test
    that expects nothing left has already failed on it)."""
    directory = tmp_path / "state"
    yield directory
    kill_everything_under(directory)


class FakeAzure:
    """A real local HTTP server playing ARM (Azure is unreachable here): scripted answers per
    (method, path); every request recorded with its query and headers, each PUT's body too."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.bodies: list[object] = []  # the JSON body of each PUT
        self.answers: dict[tuple[str, str], list[tuple[int, dict[str, str], object]]] = {}

    def answer(self, method: str, path: str, *replies: tuple[int, dict[str, str], object]) -> None:
        self.answers[(method, path)] = list(replies)


@pytest.fixture
def azure() -> Iterator[tuple[FakeAzure, str]]:
    fake = FakeAzure()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            path, _, _query = self.path.partition("?")
            fake.requests.append((self.command, self.path, dict(self.headers)))
            if self.command == "PUT":
                length = int(self.headers.get("Content-Length") or 0)
                fake.bodies.append(json.loads(self.rfile.read(length) or b"null"))
            replies = fake.answers.get((self.command, path)) or [(404, {}, {"error": {"code": "NotFound"}})]
            status, headers, body = replies.pop(0) if len(replies) > 1 else replies[0]
            data = json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value.replace("{base}", base))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_DELETE = do_PUT = _reply

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield fake, base
    finally:
        server.shutdown()
