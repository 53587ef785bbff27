"""Azure ML's inference server (azmlinfsrv) as the local backend starts, probes and stops it.

Standard library only, so it imports in both environments (the scoring one has no pulumi). The
command line (`command`), the health wait (`wait_healthy`, raising `NotHealthy`), the probe and the
log tail are what release.py, listening_socket.py and backend.py run; tests, benchmarks
and the GPU check start their own servers with the same command through
`harness.server.InferenceServer`, which raises the same `NotHealthy`.

Every server is started the same way: the scoring interpreter runs release_launcher.py, which
runs azmlinfsrv as its console script does, bound to 127.0.0.1 (plus, for a local service, the
front door's shared socket), in its own session, output appended to a log file.
"""

from __future__ import annotations

import http.client
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

LAUNCHER = Path(__file__).with_name("release_launcher.py")
PROBE_TIMEOUT_S = 2.0
# A client that stops sending mid-request frees its worker after this long (release_launcher.py).
CLIENT_TIMEOUT_S = 10.0
# ... and a client that keeps trickling bytes has its request cut off this long after it was
# accepted: bodies on loopback arrive in well under a second, even at the 32 MiB default limit.
REQUEST_DEADLINE_S = 20.0
# The kernel hands a connection to a worker only once it has sent something, or after this long
# (rounded up to the SYN-ACK retransmission times: about 7 s), when it is answered 408.
DEFER_ACCEPT_S = 5
POLL_S = 0.05
# azmlinfsrv logs this once per worker when the entry script's init() has returned (logger
# azmlinfsrv.user_script at INFO: keep it there in any logging.json).
INIT_DONE_MARKER = "init has completed successfully"
# The server's own environment. Serving needs no Keras, but `import tensorflow` imports all of
# Keras 3 eagerly (and with it Keras's scikit-learn wrapper: sklearn, scipy), the larger part of
# TensorFlow's import time and so of a cold start (docs/local-target.md). With the legacy-Keras
# switch and no tf_keras installed, TensorFlow skips that import; `tf.keras` is then unavailable
# in the server (the entry script does not use it; `import keras` still works).
SERVER_ENV = {"TF_USE_LEGACY_KERAS": "1"}


class NotHealthy(Exception):
    """The server exited or did not become healthy in time; the caller adds the log tail."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def probe(port: int, path: str = "/") -> bool:
    """True when GET http://127.0.0.1:<port><path> answers 200 (no proxies involved)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT_S)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a log file ("" when there is none)."""
    try:
        with path.open("rb") as stream:
            stream.seek(0, os.SEEK_END)
            stream.seek(max(0, stream.tell() - 256 * 1024))
            text = stream.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def workers_ready(log_path: Path) -> int:
    """How many workers have finished the entry script's init() (counted in the log)."""
    try:
        return log_path.read_text(errors="replace").count(INIT_DONE_MARKER)
    except FileNotFoundError:
        return 0


def command(
    python: Path,
    entry_script: Path,
    model_dir: Path,
    *,
    port: int,
    workers: int,
    shared_fd: int | None = None,
) -> list[str]:
    """The argv that starts azmlinfsrv on 127.0.0.1:<port> (and on `shared_fd` if given)."""
    argv = [str(python), str(LAUNCHER), "--client-timeout", str(CLIENT_TIMEOUT_S)]
    argv += ["--request-deadline", str(REQUEST_DEADLINE_S)]
    argv += ["--defer-accept", str(DEFER_ACCEPT_S)]
    if shared_fd is not None:
        argv += ["--shared-fd", str(shared_fd)]
    argv += ["--", "--entry_script", str(entry_script), "--model_dir", str(model_dir)]
    return [*argv, "--port", str(port), "--worker_count", str(workers)]


def wait_healthy(
    port: int,
    alive: Callable[[], bool],
    timeout_s: float,
    *,
    log_path: Path | None = None,
    workers: int = 0,
) -> float:
    """Wait until GET / on `port` answers 200 and, with `log_path`, until `workers` workers have
    finished init() (a benchmark or a switch wants them all warm). Returns the seconds it took;
    raises NotHealthy when `alive()` turns false first or the timeout passes."""
    started = time.monotonic()
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        if not alive():
            raise NotHealthy("the inference server exited before it became healthy")
        if probe(port) and (log_path is None or workers_ready(log_path) >= workers):
            return time.monotonic() - started
        time.sleep(POLL_S)
    raise NotHealthy(f"the inference server was not healthy after {timeout_s:.0f} s")
