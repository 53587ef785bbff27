"""Azure ML's inference server (azmlinfsrv) as a subprocess for one benchmark variant.

`InferenceServer` starts `azmlinfsrv --entry_script S --model_dir M --port P --worker_count W` in its
own process group, waits until every gunicorn worker has finished the entry script's `init()`, and
on exit stops that process group (SIGTERM, then SIGKILL after a grace period). Its output goes to a
log file, whose tail is in the error if the server dies or never gets ready.

Note: azmlinfsrv binds 0.0.0.0 (its host is hard-coded); the benchmark only ever sends to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

# azmlinfsrv logs this once per worker when the entry script's init() has returned.
INIT_DONE_MARKER = "init has completed successfully"


class ServerStartError(RuntimeError):
    """The server exited or did not finish init() in time; the message carries its log tail."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class InferenceServer:
    """One azmlinfsrv process group; use as a context manager (the constructor only stores settings)."""

    def __init__(
        self,
        azmlinfsrv: Path,
        entry_script: Path,
        model_dir: Path,
        workers: int,
        log_path: Path,
        *,
        cwd: Path,
        extra_env: Mapping[str, str] | None = None,
        ready_timeout_s: float = 180.0,
    ) -> None:
        self.azmlinfsrv = azmlinfsrv
        self.entry_script = entry_script
        self.model_dir = model_dir
        self.workers = workers
        self.log_path = log_path
        self.cwd = cwd
        self.extra_env = dict(extra_env or {})
        self.ready_timeout_s = ready_timeout_s
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def score_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/score"

    def __enter__(self) -> InferenceServer:
        self.port = free_port()
        env = {**os.environ, "AZUREML_MODEL_DIR": str(self.model_dir), **self.extra_env}
        command = [
            str(self.azmlinfsrv),
            "--entry_script",
            str(self.entry_script),
            "--model_dir",
            str(self.model_dir),
            "--port",
            str(self.port),
            "--worker_count",
            str(self.workers),
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command, cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        _exc_type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerStartError(
                    f"azmlinfsrv ({self.entry_script.name}) exited with {self._process.returncode}:\n"
                    + self.log_tail()
                )
            if self.log_path.read_text(errors="replace").count(INIT_DONE_MARKER) >= self.workers:
                return
            time.sleep(0.2)
        raise ServerStartError(
            f"azmlinfsrv ({self.entry_script.name}) did not finish init() in {self.workers} worker(s) "
            f"within {self.ready_timeout_s:.0f} s (readiness is read from the INFO line '{INIT_DONE_MARKER}' "
            "of the logger azmlinfsrv.user_script: keep it at INFO in any logging.json):\n" + self.log_tail()
        )

    def stop(self, grace_s: float = 15.0) -> None:
        """Stop the server's process group (the one this object started); idempotent."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        group = process.pid  # start_new_session made the server the leader of its own group
        os.killpg(group, signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            process.wait(timeout=grace_s)
        with contextlib.suppress(ProcessLookupError):  # workers may outlive the master for a moment
            os.killpg(group, signal.SIGKILL)
