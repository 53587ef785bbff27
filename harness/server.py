"""One azmlinfsrv (Azure ML's inference server) for a test, a benchmark or the GPU check, started
as the local backend starts its releases (`deployment.local.inference_server.command`: the scoring
interpreter runs release_launcher.py), on a free loopback port, in its own process group.

    with InferenceServer(ENTRY_SCRIPT, model_dir, workers=2, env={"SCORE_MAX_BATCH": "64"}) as server:
        urllib.request.urlopen(server.score_url, data=...)

`start()` returns once every worker has run `init()`; a server that exits or is not ready in time
raises the product's own start failure, `NotHealthy`, with the log's tail. Standard library only,
so it imports in both environments (the scoring one has no pulumi).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from deployment.local.inference_server import SERVER_ENV, NotHealthy, command, free_port, tail, wait_healthy
from deployment.local.process import ProcessRecord, exit_code, is_running, start_detached, stop

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCORING_PYTHON = PROJECT_ROOT / ".venv-scoring" / "bin" / "python"
ENTRY_SCRIPT = PROJECT_ROOT / "model_service" / "score.py"
_PORT_ATTEMPTS = 3  # a free port can be taken by someone else between choosing and binding it
_POLL_S = 0.05

__all__ = ["ENTRY_SCRIPT", "SCORING_PYTHON", "InferenceServer", "NotHealthy", "free_port", "wait_gone"]


def wait_gone(record: ProcessRecord, timeout_s: float) -> bool:
    """Wait until the recorded process is no longer running; True when it is gone."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not is_running(record):
            return True
        time.sleep(_POLL_S)
    return not is_running(record)


class InferenceServer:
    """One azmlinfsrv: `start()` returns once every worker is warm, `stop()` ends its process
    group. The caller's environment plus `env` reaches it."""

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
                wait_healthy(self.port, self._running, timeout, log_path=self.log_path, workers=self.workers)
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
