"""LocalBackend: the model served on this machine by Azure ML's inference server (azmlinfsrv).

    <state dir>/<service name>/
        service.json       the handle (LocalHandle): door process, port, active release
        door.json          the door's bound port, written by the door once it listens
        door.sock          where a release's starter gets the scoring port's socket (0600)
        local_door.py      a copy of the front door (front_door.py), so a running service needs no checkout
        door.log
        releases/<id>/     one per running release (release.py)

The scoring URI's port is held by the front door (front_door.py) for the service's life; each
release's inference server accepts on that very socket (besides a private port for its health
probe), so clients talk to azmlinfsrv itself. An update starts the new release beside the old
one on the same socket, waits until every worker is warm, then stops the old one gracefully (it
finishes what it has accepted; queued connections go to the new one): no request fails. All
processes are detached (their own sessions) and outlive the provider host; each is recorded
with its start time so a reused pid is never taken for ours. Settings that only mean something
on AKS (replicas, CPU, memory, GPU, autoscale, auth) are not enforced here; the service listens
on loopback only and issues no keys.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from deployment.backend import DeploymentFailed, LiveDeployment, Progress
from deployment.local import inference_server, listening_socket
from deployment.local import release as releases
from deployment.local.handle import LocalHandle
from deployment.local.inference_server import NotHealthy
from deployment.local.process import ProcessRecord, is_running, stop
from deployment.local.release import Release, ReleaseFailed
from deployment.spec import DeploymentSpec
from deployment.targets import LocalTarget

PROJECT_ROOT = Path(__file__).resolve().parents[3]  # infra/deployment/local/backend.py
DEFAULT_STATE_DIR = PROJECT_ROOT / ".state" / "local-deployments"
DEFAULT_PYTHON = PROJECT_ROOT / ".venv-scoring" / "bin" / "python"
HEALTH_TIMEOUT_ENV = "AMLGPU_LOCAL_HEALTH_TIMEOUT_S"
DEFAULT_HEALTH_TIMEOUT_S = 120.0
LOG_TAIL_LINES = 100
SERVICE_FILE = "service.json"
OWNER_FILE = "owner"  # the stack (spec.owner) that created the service


def default_workers() -> int:
    """One worker per two cores (TensorFlow spreads each request over the cores itself, and
    workers that load TensorFlow side by side on few cores delay the first healthy answer),
    at most 4, and at most one per 2 GiB of memory."""
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return max(1, min((os.cpu_count() or 1) // 2, 4, int(memory_gib // 2)))


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Replace `path` atomically: readers see the old or the new content, never a mix."""
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(json.dumps(data))
    staging.replace(path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


class LocalBackend:
    """The `Backend` for `LocalTarget`. Constructed per provider call; holds only settings."""

    def __init__(self, target: LocalTarget, environ: Mapping[str, str] | None = None) -> None:
        self._environ = dict(os.environ if environ is None else environ)
        self.python = Path(target.python) if target.python else DEFAULT_PYTHON
        self.state_dir = Path(target.state_dir) if target.state_dir else DEFAULT_STATE_DIR
        self.workers = int(target.workers) if target.workers else default_workers()
        raw_timeout = self._environ.get(HEALTH_TIMEOUT_ENV, str(DEFAULT_HEALTH_TIMEOUT_S))
        try:
            self.health_timeout_s = float(raw_timeout)
            if self.health_timeout_s <= 0:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"{HEALTH_TIMEOUT_ENV}: {raw_timeout!r} is not allowed: a number of seconds > 0"
            ) from None

    # -- Backend ------------------------------------------------------------------------------

    # create, update and delete hold the state dir's lock: a provider host orphaned by a killed
    # `pulumi up` may still be finishing its create when the next `up` starts one.
    def create(self, spec: DeploymentSpec, progress: Progress) -> LiveDeployment:
        with self._exclusive(progress):
            return self._create(spec, progress)

    def update(
        self, current: LiveDeployment, old: DeploymentSpec, new: DeploymentSpec, progress: Progress
    ) -> LiveDeployment:
        with self._exclusive(progress):
            return self._update(current, old, new, progress)

    def delete(self, current: LiveDeployment) -> None:
        with self._exclusive(None):
            self._delete(current)

    @contextlib.contextmanager
    def _exclusive(self, progress: Progress | None) -> Iterator[None]:
        """An flock on the state dir itself (no lock file is left behind); the kernel drops it
        when its holder dies."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.state_dir, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if progress is not None:
                    progress(f"waiting for another operation on {self.state_dir} to finish")
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _create(self, spec: DeploymentSpec, progress: Progress) -> LiveDeployment:
        """Start the service and wait until it is healthy. Transactional: on failure every
        process is stopped, the service directory is removed, and the error has the log tail."""
        self._check_python()
        service_dir = self.state_dir / spec.service_name
        self._clear_leftovers(service_dir, spec, progress)
        (service_dir / "releases").mkdir(parents=True)
        # Recorded before anything starts: a create cut off by a killed `pulumi up` (its provider
        # host may even finish it) is then known as this stack's on the next create.
        if spec.owner:
            (service_dir / OWNER_FILE).write_text(spec.owner)
        release: Release | None = None
        door: ProcessRecord | None = None
        try:
            service_file = service_dir / SERVICE_FILE
            door, port = listening_socket.start_door(service_dir, service_file, self.python, self._environ)
            release = self._start_release(spec, service_dir, progress, warm_workers=0)
            if not inference_server.probe(port):
                raise NotHealthy("the service does not answer on its scoring port")
            handle = LocalHandle(service_dir, port, door, release)
            _write_json(service_dir / SERVICE_FILE, handle.to_dict())
            progress(f"{spec.service_name}: healthy at http://127.0.0.1:{port}/score")
            return self._live(spec, handle, "Healthy")
        except BaseException as error:
            logs = error.logs if isinstance(error, ReleaseFailed) else ""
            if release is not None:
                logs = inference_server.tail(release.log_path, LOG_TAIL_LINES)
            if door is not None:
                stop(door)
            if release is not None:
                stop(release.process)
            shutil.rmtree(service_dir, ignore_errors=True)
            if isinstance(error, (ReleaseFailed, NotHealthy, OSError)):
                raise DeploymentFailed(
                    f"creating local service {spec.service_name} failed: {error}", logs
                ) from error
            raise

    def _update(
        self, current: LiveDeployment, old: DeploymentSpec, new: DeploymentSpec, progress: Progress
    ) -> LiveDeployment:
        """Start the new release beside the old on the same socket; when all its workers are
        warm, stop the old one gracefully. On failure the old release keeps serving and the
        error has the new release's log tail."""
        del old  # everything the switch needs is in `current` and `new`
        self._check_python()
        handle = self._handle(current)
        if not is_running(handle.door):
            raise DeploymentFailed(
                f"local service {current.service_name} is not running (stopped outside Pulumi?): "
                "run `pulumi refresh`, then `pulumi up` creates it again"
            )
        try:
            release = self._start_release(new, handle.service_dir, progress, warm_workers=self.workers)
        except ReleaseFailed as error:
            raise DeploymentFailed(
                f"the new version of {current.service_name} did not become healthy "
                f"(the previous version keeps serving): {error.reason}",
                error.logs,
            ) from error
        previous, handle = handle.release, handle.with_release(release)
        _write_json(handle.service_dir / SERVICE_FILE, handle.to_dict())
        # TERM: gunicorn's workers stop accepting, finish the request in hand and exit.
        stop(previous.process)
        shutil.rmtree(previous.directory, ignore_errors=True)
        progress(f"{new.service_name}: now serving {new.model_name}:{new.model_version}")
        return self._live(new, handle, "Healthy")

    def read(self, current: LiveDeployment, spec: DeploymentSpec) -> LiveDeployment | None:
        """Gone unless both the front door and the active release are running and ours;
        "Unhealthy" when they run but do not answer the health probe."""
        handle = self._handle(current)
        if not (is_running(handle.door) and is_running(handle.release.process)):
            return None
        state = "Healthy" if inference_server.probe(handle.port) else "Unhealthy"
        return self._live(spec, handle, state)

    def _delete(self, current: LiveDeployment) -> None:
        """Stop every process of the service and remove its directory; gone is success."""
        handle = self._handle(current)
        records = [handle.door, handle.release.process, *self._recorded_processes(handle.service_dir)]
        for record in records:
            stop(record)
        if handle.service_dir.exists():
            shutil.rmtree(handle.service_dir)

    def logs(self, current: LiveDeployment, tail_lines: int = LOG_TAIL_LINES) -> str:
        return inference_server.tail(self._handle(current).release.log_path, tail_lines)

    # -- helpers -------------------------------------------------------------------------------

    def _check_python(self) -> None:
        if not self.python.is_file():
            raise DeploymentFailed(
                f"target.python: {str(self.python)!r} does not exist: create the scoring environment "
                "with `make venvs`, or set the local target's python to an interpreter that has "
                "azureml-inference-server-http"
            )

    def _handle(self, current: LiveDeployment) -> LocalHandle:
        """The recorded handle, its service directory under this checkout's state dir if the
        checkout has moved since."""
        handle = LocalHandle.from_dict(current.handle)
        if handle.service_dir.is_dir():
            return handle
        return replace(handle, service_dir=self.state_dir / current.service_name)

    def _start_release(
        self, spec: DeploymentSpec, service_dir: Path, progress: Progress, *, warm_workers: int
    ) -> Release:
        """Start a release on the door's socket and wait until it is healthy (and until
        `warm_workers` workers are warm). On failure it is stopped and removed, and
        `ReleaseFailed` carries its log tail."""
        if spec.settings.auth != "none":
            progress(f"{spec.service_name}: auth {spec.settings.auth!r} is AKS-only; locally: loopback only")
        progress(f"{spec.service_name}: starting azmlinfsrv for {spec.model_name}:{spec.model_version}")
        try:
            with listening_socket.borrow(service_dir) as listener:
                release = releases.start(
                    spec,
                    service_dir / "releases",
                    python=self.python,
                    workers=self.workers,
                    environ=self._environ,
                    shared_fd=listener.fileno(),
                )
        except (DeploymentFailed, OSError) as error:
            raise ReleaseFailed(str(error), "") from error
        try:
            seconds = releases.wait_healthy(release, self.health_timeout_s, progress, workers=warm_workers)
        except BaseException as error:
            logs = inference_server.tail(release.log_path, LOG_TAIL_LINES)
            stop(release.process)
            shutil.rmtree(release.directory, ignore_errors=True)
            if isinstance(error, NotHealthy):
                raise ReleaseFailed(str(error), logs) from error
            raise
        progress(f"{spec.service_name}: release {release.release_id} healthy after {seconds:.1f} s")
        return release

    def _recorded_processes(self, service_dir: Path) -> list[ProcessRecord]:
        """Every process recorded in a service directory (door and all releases)."""
        records: list[ProcessRecord] = []
        service = _read_json(service_dir / SERVICE_FILE)
        if service and "door" in service:
            records.append(ProcessRecord.from_dict(service["door"]))
        for release_file in sorted(service_dir.glob(f"releases/*/{releases.RELEASE_FILE}")):
            data = _read_json(release_file)
            if data:
                records.append(Release.from_dict(data).process)
        return records

    def _clear_leftovers(self, service_dir: Path, spec: DeploymentSpec, progress: Progress) -> None:
        """A running service of this name that another stack started is an error, never
        replaced. The remains of one that `read` reports gone (front door or active release not
        running: killed outside Pulumi, then refreshed away), and a service this stack started
        in a create that `pulumi up` never recorded (the CLI was killed), are stopped and removed."""
        service_name = spec.service_name
        if not service_dir.exists():
            return
        owner_file = service_dir / OWNER_FILE
        recorded_owner = owner_file.read_text() if owner_file.is_file() else None
        service = _read_json(service_dir / SERVICE_FILE)
        if spec.owner and recorded_owner == spec.owner:
            progress(f"{service_name}: removing what an interrupted create of this stack left there")
        else:
            if service and "door" in service and "release" in service:
                door = ProcessRecord.from_dict(service["door"])
                active = Release.from_dict(service["release"]).process
                if is_running(door) and is_running(active):
                    raise DeploymentFailed(
                        f"service_name: a local service named {service_name!r} is already running from "
                        f"{service_dir} (pids {door.pid}, {active.pid}) and this stack did not create "
                        "it: stop it (kill -TERM -- -PID for each pid) and remove that directory, "
                        "or choose another name"
                    )
            progress(f"{service_name}: removing the remains of a stopped local service in {service_dir}")
        for record in self._recorded_processes(service_dir):
            stop(record)
        shutil.rmtree(service_dir)

    def _live(self, spec: DeploymentSpec, handle: LocalHandle, state: str) -> LiveDeployment:
        base = f"http://127.0.0.1:{handle.port}"
        return LiveDeployment(
            service_name=spec.service_name,
            state=state,
            scoring_uri=f"{base}/score",
            swagger_uri=f"{base}/swagger.json",
            health_uri=f"{base}/",
            model_id=f"{spec.model_name}:{spec.model_version}",
            handle=handle.to_dict(),
            settings=None,  # nothing here can change them outside Pulumi
            keys=None,
        )
