"""The benchmarks' names for the one inference-server harness, `deployment.inference_server`
(stdlib, shared with the local backend and the tests; bench/__init__.py puts `infra/` on sys.path).

`InferenceServer(azmlinfsrv, entry_script, model_dir, workers, log_path, cwd=..., extra_env=...)`
keeps the benchmarks' call: the scoring environment is the one `azmlinfsrv` belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from deployment import inference_server
from deployment.inference_server import NotHealthy as ServerStartError
from deployment.inference_server import free_port

__all__ = ["InferenceServer", "ServerStartError", "free_port"]


class InferenceServer(inference_server.InferenceServer):
    def __init__(
        self,
        azmlinfsrv: Path,
        entry_script: Path,
        model_dir: Path,
        workers: int,
        log_path: Path,
        *,
        cwd: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            entry_script,
            model_dir,
            workers=workers,
            env=extra_env,
            python=azmlinfsrv.parent / "python",
            log_path=log_path,
            cwd=cwd,
        )
