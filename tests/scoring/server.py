"""The tests' names for the one inference-server harness, `deployment.inference_server` (stdlib,
shared with the local backend and the benchmarks; `infra/` is on pytest's pythonpath).

    with running_server(ENTRY_SCRIPT, model_dir, workers=2, env={"SCORE_MAX_BATCH": "64"}) as base_url:
        urllib.request.urlopen(base_url + "/score", data=...)

The server runs as the local backend runs it (release_launcher.py from the scoring environment),
on a free loopback port, in its own process group and a temporary working directory; it is
ready once every worker has run `init()`, and stopped (TERM, then KILL of its group) however
the block ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from deployment.inference_server import ENTRY_SCRIPT, InferenceServer, free_port
from deployment.inference_server import NotHealthy as ServerFailed

AzmlinfsrvProcess = InferenceServer

__all__ = ["ENTRY_SCRIPT", "AzmlinfsrvProcess", "ServerFailed", "free_port", "running_server"]


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
    server = InferenceServer(entry_script, model_dir, workers=workers, env=env)
    try:
        yield server.start(timeout)
    finally:
        server.close()
