"""One release of a local service: a snapshot of the source and model, laid out as Azure ML
lays them out in its containers, served by azmlinfsrv from the scoring environment.

    <service dir>/releases/<release id>/
        app/<source dir name>/...            the entry script's directory (AML_APP_ROOT)
        azureml-models/<model>/<version>/... the model (AZUREML_MODEL_DIR)
        server.log                           the inference server's stdout and stderr
        release.json                         port and process record

The snapshot is hashed again after copying: what runs is exactly what `diff` compared.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployment.backend import DeploymentFailed
from deployment.hashing import tree_files, tree_sha256
from deployment.local import inference_server
from deployment.local.process import ProcessRecord, environment_for_child, is_running, start_detached
from deployment.spec import DeploymentSpec

RELEASE_FILE = "release.json"
SERVER_LOG = "server.log"

__all__ = ["Release", "ReleaseFailed", "prepare", "start", "wait_healthy"]


class ReleaseFailed(Exception):
    """A release could not be started; it has been removed again. `logs` is its log tail."""

    def __init__(self, reason: str, logs: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.logs = logs


@dataclass(frozen=True)
class Release:
    release_id: str
    directory: Path
    port: int
    process: ProcessRecord

    @property
    def log_path(self) -> Path:
        return self.directory / SERVER_LOG

    def to_dict(self) -> dict[str, Any]:
        return {
            "release_id": self.release_id,
            "directory": str(self.directory),
            "port": self.port,
            "process": self.process.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Release:
        return cls(
            release_id=str(data["release_id"]),
            directory=Path(data["directory"]),
            port=int(data["port"]),
            process=ProcessRecord.from_dict(data["process"]),
        )


def _copy_verified(source: Path, destination: Path, expected_sha256: str, field: str) -> None:
    for relative, path in tree_files(source):
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    if tree_sha256(destination) != expected_sha256:
        raise DeploymentFailed(
            f"{field}: the content of {source} changed after the program hashed it; run `pulumi up` again"
        )


def prepare(spec: DeploymentSpec, releases_dir: Path) -> tuple[str, Path, Path, Path]:
    """Snapshot source and model into a new release directory.
    Returns (release id, directory, app dir, model dir)."""
    release_id = f"{spec.model_version}-{secrets.token_hex(3)}"
    directory = releases_dir / release_id
    app_dir = directory / "app" / Path(spec.source_dir).name
    model_dir = directory / "azureml-models" / spec.model_name / spec.model_version
    directory.mkdir(parents=True)
    _copy_verified(Path(spec.source_dir), app_dir, spec.source_hash, "source_dir")
    _copy_verified(Path(spec.model_dir), model_dir, spec.model_hash, "model_dir")
    if not (app_dir / spec.entry_script).is_file():
        raise DeploymentFailed(f"entry_script: {spec.entry_script!r} is not a file in {spec.source_dir}")
    return release_id, directory, app_dir, model_dir


def start(
    spec: DeploymentSpec,
    releases_dir: Path,
    *,
    python: Path,
    workers: int,
    environ: Mapping[str, str],
    shared_fd: int | None = None,
) -> Release:
    """Lay out a release and start its inference server (not yet waited for): on a private
    port of its own, and accepting on the front door's `shared_fd` too when given."""
    release_id, directory, app_dir, model_dir = prepare(spec, releases_dir)
    # A copy, as the front door's: a running service needs no checkout.
    launcher = directory / inference_server.LAUNCHER.name
    shutil.copyfile(inference_server.LAUNCHER, launcher)
    port = inference_server.free_port()
    env = environment_for_child(
        environ,
        {
            "AML_APP_ROOT": str(app_dir),
            # Both import styles of an AML source directory: siblings, or the package by name.
            "PYTHONPATH": f"{app_dir}{os.pathsep}{app_dir.parent}",
            "SCORING_TIMEOUT_MS": str(spec.settings.scoring_timeout_ms),
            "SERVICE_NAME": spec.service_name,
            "PYTHONUNBUFFERED": "1",
            # The stack's `scoring` settings; nothing of the caller's environment reaches the server.
            **(spec.scoring.environment() if spec.scoring is not None else {}),
            **inference_server.SERVER_ENV,
        },
    )
    argv = inference_server.command(
        python, app_dir / spec.entry_script, model_dir, port=port, workers=workers, shared_fd=shared_fd
    )
    argv[1] = str(launcher)
    fds = () if shared_fd is None else (shared_fd,)
    process = start_detached(argv, cwd=app_dir, env=env, log_path=directory / SERVER_LOG, pass_fds=fds)
    release = Release(release_id, directory, port, process)
    (directory / RELEASE_FILE).write_text(json.dumps(release.to_dict()))
    return release


def wait_healthy(
    release: Release, timeout_s: float, progress: Callable[[str], None], *, workers: int = 0
) -> float:
    """Wait until the release answers its health probe on its private port (and, with
    `workers`, until that many workers are warm); returns the seconds it took. Raises
    inference_server.NotHealthy when the server exits first or the timeout passes."""
    progress(f"waiting for the inference server on 127.0.0.1:{release.port} (up to {timeout_s:.0f} s)")
    return inference_server.wait_healthy(
        release.port,
        lambda: is_running(release.process),
        timeout_s,
        log_path=release.log_path if workers else None,
        workers=workers,
    )
