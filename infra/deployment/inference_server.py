"""Azure ML's inference server (azmlinfsrv) as a process: how it is started, probed and stopped.

The one harness for the local backend (local_release.py), the tests and the benchmarks. Standard
library only, so it imports in both environments (the scoring one has no pulumi): tests and
benchmarks import it as `deployment.inference_server` with `infra/` on sys.path, as the
provider host does.

    with InferenceServer(ENTRY_SCRIPT, model_dir, workers=2) as server:
        urllib.request.urlopen(server.score_url, data=...)

Every server is started the same way: the scoring interpreter runs release_launcher.py, which
runs azmlinfsrv as its console script does, bound to 127.0.0.1 (plus, for a local service, the
front door's shared socket), in its own session, output appended to a log file.
"""

from __future__ import annotations

import http.client
import os
import socket
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

from deployment.process import ProcessRecord, exit_code, is_running, start_detached, stop

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCORING_PYTHON = PROJECT_ROOT / ".venv-scoring" / "bin" / "python"
ENTRY_SCRIPT = PROJECT_ROOT / "model_service" / "score.py"
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
_PORT_ATTEMPTS = 3  # a free port can be taken by someone else between choosing and binding it


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


class InferenceServer:
    """One azmlinfsrv for a test or a benchmark: `start()` returns once every worker is warm,
    `stop()` ends its process group. The caller's environment plus `env` reaches it."""

    def __init__(
        self,
        entry_script: Path | str,
        model_dir: Path | str,
        *,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        python: Path | str = SCORING_PYTHON,
        log_path: Path | None = None,
        port: int | None = None,
        cwd: Path | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers: {workers!r} is not allowed (allowed: an integer >= 1)")
        if str((env or {}).get("WORKER_PRELOAD", "")).lower() == "true":
            raise ValueError("env: WORKER_PRELOAD=true is not allowed: with TensorFlow it hangs the workers")
        self.entry_script = Path(entry_script).resolve()
        self.model_dir = Path(model_dir).resolve()
        self.workers = workers
        self.env = dict(env or {})
        self.python = Path(python)
        self.port = port or 0
        self._fixed_port = port
        self._cwd = cwd
        self._log_path = log_path
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self.process: ProcessRecord | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def score_url(self) -> str:
        return self.base_url + "/score"

    @property
    def log_path(self) -> Path:
        if self._log_path is None:
            self._workdir = self._workdir or tempfile.TemporaryDirectory(prefix="azmlinfsrv-")
            self._log_path = Path(self._workdir.name) / "azmlinfsrv.log"
        return self._log_path

    def logs(self) -> str:
        """Everything the server and its workers printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self, timeout: float = 180.0) -> str:
        """Start the server and return its base URL once every worker is warm; NotHealthy
        (with the log tail) when it exits or is not ready in time."""
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            self.port = self._fixed_port or free_port()
            offset = len(self.logs())
            self._spawn()
            record = self.process
            try:
                log_path = self.log_path
                wait_healthy(self.port, self._running, timeout, log_path=log_path, workers=self.workers)
                return self.base_url
            except NotHealthy as error:
                in_use = "Address already in use" in self.logs()[offset:]
                code = exit_code(record) if record is not None else None
                self.stop()
                if not (in_use and self._fixed_port is None and attempt < _PORT_ATTEMPTS):
                    why = f"azmlinfsrv exited with code {code}" if code is not None else str(error)
                    log = tail(self.log_path, 60)
                    raise NotHealthy(f"{why}\n--- azmlinfsrv log (tail) ---\n{log}") from None
        raise AssertionError("unreachable")

    def _running(self) -> bool:
        return self.process is not None and is_running(self.process)

    def stop(self) -> None:
        """Stop the server and its workers (TERM, then KILL); idempotent."""
        record, self.process = self.process, None
        if record is not None:
            stop(record)

    def close(self) -> None:
        self.stop()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> InferenceServer:
        self.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()

    def _spawn(self) -> None:
        environ = {key: value for key, value in os.environ.items() if key != "WORKER_PRELOAD"}
        environ.update(SERVER_ENV)
        environ.update(self.env)
        environ["AZUREML_MODEL_DIR"] = str(self.model_dir)
        environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
        argv = command(self.python, self.entry_script, self.model_dir, port=self.port, workers=self.workers)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # By default not the repo: score.py must not rely on it being importable.
        workdir = self._cwd or self.log_path.parent
        self.process = start_detached(argv, cwd=workdir, env=environ, log_path=self.log_path)
