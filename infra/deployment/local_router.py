"""The local service's stable front door: a small HTTP forwarder to the active release.

Run by the local backend as `python -I local_router.py --upstream-file F --ready-file R`
with the scoring interpreter; standard library only. It plays the part AKS's front end
plays for Azure ML: the scoring URI stays the same while releases behind it change.

The backend switches releases by atomically replacing the upstream file (JSON {"port": N});
every request reads the current upstream (a stat per request, re-read when it changed). A
request whose connection to an upstream fails before a response (an old release that has just
stopped accepting) is retried once against the current upstream: scoring is a pure function,
so a retry cannot do harm. Bodies are read whole (bounded) so that the retry can resend them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_BODY_BYTES = 64 * 1024 * 1024
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
)
_CONNECT_ERRORS = (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine)


class Upstream:
    """The active release's port and request timeout, re-read whenever the upstream file changes
    (the backend replaces it atomically: a new inode)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._current = (0, 60.0)

    def current(self) -> tuple[int, float]:
        """(port, timeout in seconds). If the file has gone or cannot be read (the state
        directory removed by hand), the last good value stays: the release still runs."""
        try:
            stat = self._path.stat()
            stamp = (stat.st_mtime_ns, stat.st_ino)
            with self._lock:
                if stamp != self._stamp:
                    data = json.loads(self._path.read_text())
                    self._current = (int(data["port"]), float(data.get("timeout_s", 60.0)))
                    self._stamp = stamp
        except (OSError, ValueError, KeyError, TypeError):
            pass
        with self._lock:
            return self._current


class ForwardingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream: Upstream

    def log_message(self, format: str, *args: object) -> None:
        pass  # the inference server logs every request; the front door stays quiet

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._reply(411, b"chunked request bodies are not supported: send Content-Length")
            return
        if length > MAX_BODY_BYTES:
            self._reply(413, f"request body over {MAX_BODY_BYTES} bytes".encode())
            return
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        for attempt in (1, 2):
            port, timeout_s = self.upstream.current()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except _CONNECT_ERRORS:
                connection.close()
                if attempt == 2:
                    self._reply(502, b"the service is not answering")
                    return
                continue
            except TimeoutError:
                connection.close()
                self._reply(504, b"the service did not answer in time")
                return
            connection.close()
            self.send_response_only(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            return

    def _reply(self, status: int, text: bytes) -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = do_PATCH = _forward


class FrontDoor(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections under a modest burst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-file", type=Path, required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    ForwardingHandler.upstream = Upstream(args.upstream_file)
    server = FrontDoor(("127.0.0.1", args.port), ForwardingHandler)
    # Publish the bound port atomically: the backend waits for this file.
    staging = args.ready_file.with_suffix(".tmp")
    staging.write_text(json.dumps({"port": server.server_address[1], "pid": os.getpid()}))
    staging.replace(args.ready_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
