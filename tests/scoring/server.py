"""Start and stop a real azmlinfsrv (Azure ML's inference server) for tests and benchmarks.

    with running_server(ENTRY_SCRIPT, model_dir, workers=2, env={"SCORE_MAX_BATCH": "64"}) as base_url:
        urllib.request.urlopen(base_url + "/score", data=...)

The server runs from the scoring environment's `azmlinfsrv` console script, exactly as
`make serve` and the local deployment backend run it, on a free port, in its own process group
and working directory; `running_server` returns once GET / answers "Healthy" (the workers have
run `init()`), and stops the server again (SIGTERM, then SIGKILL of its process group) however
the block ends. `AzmlinfsrvProcess` is the same thing without the context manager, with access
to the server's log. Stdlib only, so bench/ scripts can use it from any interpreter.

Note: azmlinfsrv 1.5.1 binds 0.0.0.0 (its DEFAULT_HOST; there is no flag to change it).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENTRY_SCRIPT = PROJECT_ROOT / "model_service" / "score.py"
AZMLINFSRV = PROJECT_ROOT / ".venv-scoring" / "bin" / "azmlinfsrv"

_PORT_ATTEMPTS = 3  # a free port can be taken by someone else between choosing and binding it


class ServerFailed(RuntimeError):
    """The server exited or did not become healthy in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AzmlinfsrvProcess:
    """One azmlinfsrv process: `start()` waits until healthy, `stop()` ends it and its workers."""

    def __init__(
        self,
        entry_script: Path | str,
        model_dir: Path | str,
        *,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        executable: Path | str = AZMLINFSRV,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers: {workers!r} is not allowed (allowed: an integer >= 1)")
        if str((env or {}).get("WORKER_PRELOAD", "")).lower() == "true":
            raise ValueError("env: WORKER_PRELOAD=true is not allowed: with TensorFlow it hangs the workers")
        self.entry_script = Path(entry_script).resolve()
        self.model_dir = Path(model_dir).resolve()
        self.workers = workers
        self.env = dict(env or {})
        self.port = port
        self.executable = Path(executable)
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server has not been started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        if self._workdir is None:
            raise RuntimeError("the server has not been started")
        return Path(self._workdir.name) / "azmlinfsrv.log"

    def logs(self) -> str:
        """Everything the server and its workers printed so far (stdout and stderr)."""
        try:
            return self.log_path.read_text(errors="replace")
        except (FileNotFoundError, RuntimeError):
            return ""

    def start(self, timeout: float = 180.0) -> str:
        """Start the server and return its base URL once GET / answers; raises ServerFailed."""
        fixed_port = self.port
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            self.port = fixed_port or free_port()
            self._spawn()
            try:
                self._wait_healthy(timeout)
                return self.base_url
            except ServerFailed as error:
                in_use = "Address already in use" in self.logs()
                self.stop()
                if not (in_use and fixed_port is None and attempt < _PORT_ATTEMPTS):
                    raise error
        raise AssertionError("unreachable")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the server (gunicorn stops its workers), SIGKILL its process group if it lingers."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout)
        # Workers outlive a master that died or lingers; they stay in its process group (whose id
        # cannot be reused while they live), so SIGKILL the group: nothing else is in it.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def close(self) -> None:
        self.stop()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def _spawn(self) -> None:
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix="azmlinfsrv-")
        environ = {key: value for key, value in os.environ.items() if key != "WORKER_PRELOAD"}
        environ.update(self.env)
        environ["AZUREML_MODEL_DIR"] = str(self.model_dir)
        environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
        command = [
            str(self.executable),
            "--entry_script",
            str(self.entry_script),
            "--model_dir",
            str(self.model_dir),
            "--port",
            str(self.port),
            "--worker_count",
            str(self.workers),
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self._workdir.name,  # not the repo: score.py must not rely on it being importable
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() can reach the workers
            )

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise ServerFailed(
                    f"azmlinfsrv exited with code {code} before it was healthy\n{self._tail()}"
                )
            try:
                with urllib.request.urlopen(self.base_url + "/", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise ServerFailed(f"azmlinfsrv was not healthy within {timeout:.0f} s\n{self._tail()}")

    def _tail(self, lines: int = 60) -> str:
        return "--- azmlinfsrv log (tail) ---\n" + "\n".join(self.logs().splitlines()[-lines:])


@contextmanager
def running_server(
    entry_script: Path | str,
    model_dir: Path | str,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    *,
    timeout: float = 180.0,
) -> Iterator[str]:
    """A healthy azmlinfsrv serving `entry_script` with `model_dir`; yields its base URL
    ("http://127.0.0.1:<port>"; scoring is at base_url + "/score"). Stopped on exit."""
    server = AzmlinfsrvProcess(entry_script, model_dir, workers=workers, env=env)
    try:
        yield server.start(timeout)
    finally:
        server.close()
