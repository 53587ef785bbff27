"""LocalBackend: the model served on this machine by Azure ML's inference server (azmlinfsrv).

    <state dir>/<service name>/
        service.json       router process, port, active release (what `read`/`delete` find)
        upstream.json      the active release's port: the router forwards there
        router.json        the router's bound port, written by the router once it listens
        local_router.py    a copy of the front door, so a running service needs no checkout
        router.log
        releases/<id>/     one per running release (local_release.py)

The scoring URI is the router's (127.0.0.1, a free port, stable for the service's life); an
update starts the new release beside the old one, waits until it is healthy, switches the
router, then stops the old one, so no request fails during an update. All processes are
detached (their own sessions) and outlive the provider host; each is recorded with its start
time so a reused pid is never taken for ours. Settings that only mean something on AKS
(replicas, CPU, memory, GPU, autoscale, auth) are not enforced here; the service listens on
loopback only and issues no keys.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from deployment import local_release
from deployment.backend import DeploymentFailed, LiveDeployment, Progress
from deployment.local_release import NotHealthy, Release, ReleaseFailed
from deployment.process import ProcessRecord, environment_for_child, is_running, start_detached, stop
from deployment.spec import DeploymentSpec
from deployment.targets import LocalTarget

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = PROJECT_ROOT / ".state" / "local-deployments"
DEFAULT_PYTHON = PROJECT_ROOT / ".venv-scoring" / "bin" / "python"
ROUTER_SOURCE = Path(__file__).with_name("local_router.py")
HEALTH_TIMEOUT_ENV = "AMLGPU_LOCAL_HEALTH_TIMEOUT_S"
DEFAULT_HEALTH_TIMEOUT_S = 120.0
ROUTER_START_TIMEOUT_S = 15.0
SWITCH_GRACE_S = 0.5  # requests that picked the old release just before the switch reach it
LOG_TAIL_LINES = 100
SERVICE_FILE = "service.json"
UPSTREAM_FILE = "upstream.json"
ROUTER_READY_FILE = "router.json"
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
        router: ProcessRecord | None = None
        try:
            release = self._start_release(spec, service_dir, progress)
            self._point_router_at(service_dir, release, spec)
            router, port = self._start_router(service_dir)
            if not local_release.probe(port):
                raise NotHealthy("the service does not answer through its front door")
            _write_json(
                service_dir / SERVICE_FILE,
                {"router": router.to_dict(), "port": port, "release": release.to_dict()},
            )
            progress(f"{spec.service_name}: healthy at http://127.0.0.1:{port}/score")
            return self._live(spec, service_dir, router, port, release, "Healthy")
        except BaseException as error:
            logs = error.logs if isinstance(error, ReleaseFailed) else ""
            if release is not None:
                logs = local_release.tail(release.log_path, LOG_TAIL_LINES)
            if router is not None:
                stop(router)
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
        """Start the new release beside the old, switch when it is healthy, stop the old. On
        failure the old release keeps serving and the error has the new release's log tail."""
        del old  # everything the switch needs is in `current` and `new`
        self._check_python()
        service_dir = self._service_dir(current)
        router = ProcessRecord.from_dict(current.handle["router"])
        previous = Release.from_dict(current.handle["release"])
        if not is_running(router):
            raise DeploymentFailed(
                f"local service {current.service_name} is not running (stopped outside Pulumi?): "
                "run `pulumi refresh`, then `pulumi up` creates it again"
            )
        try:
            release = self._start_release(new, service_dir, progress)
        except ReleaseFailed as error:
            raise DeploymentFailed(
                f"the new version of {current.service_name} did not become healthy "
                f"(the previous version keeps serving): {error.reason}",
                error.logs,
            ) from error
        self._point_router_at(service_dir, release, new)
        port = int(current.handle["port"])
        _write_json(
            service_dir / SERVICE_FILE,
            {"router": router.to_dict(), "port": port, "release": release.to_dict()},
        )
        time.sleep(SWITCH_GRACE_S)
        stop(previous.process)
        shutil.rmtree(previous.directory, ignore_errors=True)
        progress(f"{new.service_name}: now serving {new.model_name}:{new.model_version}")
        return self._live(new, service_dir, router, port, release, "Healthy")

    def read(self, current: LiveDeployment, spec: DeploymentSpec) -> LiveDeployment | None:
        """Gone unless both the front door and the active release are running and ours;
        "Unhealthy" when they run but do not answer the health probe."""
        router = ProcessRecord.from_dict(current.handle["router"])
        release = Release.from_dict(current.handle["release"])
        if not (is_running(router) and is_running(release.process)):
            return None
        port = int(current.handle["port"])
        state = "Healthy" if local_release.probe(port) else "Unhealthy"
        return self._live(spec, self._service_dir(current), router, port, release, state)

    def _delete(self, current: LiveDeployment) -> None:
        """Stop every process of the service and remove its directory; gone is success."""
        service_dir = self._service_dir(current)
        records = [ProcessRecord.from_dict(current.handle["router"])]
        records.append(Release.from_dict(current.handle["release"]).process)
        records += self._recorded_processes(service_dir)
        for record in records:
            stop(record)
        if service_dir.exists():
            shutil.rmtree(service_dir)

    def logs(self, current: LiveDeployment, tail_lines: int = LOG_TAIL_LINES) -> str:
        release = Release.from_dict(current.handle["release"])
        return local_release.tail(release.log_path, tail_lines)

    # -- helpers -------------------------------------------------------------------------------

    def _check_python(self) -> None:
        if not self.python.is_file():
            raise DeploymentFailed(
                f"target.python: {str(self.python)!r} does not exist: create the scoring environment "
                "with `make venvs`, or set the local target's python to an interpreter that has "
                "azureml-inference-server-http"
            )

    def _service_dir(self, current: LiveDeployment) -> Path:
        """Where the service lives: as recorded, or under this checkout's state dir if the
        checkout has moved since."""
        recorded = Path(current.handle.get("service_dir", ""))
        return recorded if recorded.is_dir() else self.state_dir / current.service_name

    def _start_release(self, spec: DeploymentSpec, service_dir: Path, progress: Progress) -> Release:
        """Start a release and wait until it is healthy. On failure it is stopped and removed,
        and `ReleaseFailed` carries its log tail."""
        if spec.settings.auth != "none":
            progress(f"{spec.service_name}: auth {spec.settings.auth!r} is AKS-only; locally: loopback only")
        progress(f"{spec.service_name}: starting azmlinfsrv for {spec.model_name}:{spec.model_version}")
        try:
            release = local_release.start(
                spec,
                service_dir / "releases",
                python=self.python,
                workers=self.workers,
                environ=self._environ,
            )
        except (DeploymentFailed, OSError) as error:
            raise ReleaseFailed(str(error), "") from error
        try:
            seconds = local_release.wait_healthy(release, self.health_timeout_s, progress)
        except BaseException as error:
            logs = local_release.tail(release.log_path, LOG_TAIL_LINES)
            stop(release.process)
            shutil.rmtree(release.directory, ignore_errors=True)
            if isinstance(error, NotHealthy):
                raise ReleaseFailed(str(error), logs) from error
            raise
        progress(f"{spec.service_name}: release {release.release_id} healthy after {seconds:.1f} s")
        return release

    def _point_router_at(self, service_dir: Path, release: Release, spec: DeploymentSpec) -> None:
        timeout_s = spec.settings.scoring_timeout_ms / 1000 + 5
        _write_json(service_dir / UPSTREAM_FILE, {"port": release.port, "timeout_s": timeout_s})

    def _start_router(self, service_dir: Path) -> tuple[ProcessRecord, int]:
        script = service_dir / ROUTER_SOURCE.name
        shutil.copyfile(ROUTER_SOURCE, script)
        ready = service_dir / ROUTER_READY_FILE
        argv = [str(self.python), "-I", str(script), "--upstream-file", str(service_dir / UPSTREAM_FILE)]
        argv += ["--ready-file", str(ready)]
        router = start_detached(
            argv,
            cwd=service_dir,
            env=environment_for_child(self._environ, {}),
            log_path=service_dir / "router.log",
        )
        deadline = time.monotonic() + ROUTER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            published = _read_json(ready)
            if published is not None:
                return router, int(published["port"])
            if not is_running(router):
                break
            time.sleep(0.05)
        stop(router)
        raise NotHealthy(
            "the front door did not start: "
            + local_release.tail(service_dir / "router.log", 20).replace("\n", " | ")
        )

    def _recorded_processes(self, service_dir: Path) -> list[ProcessRecord]:
        """Every process recorded in a service directory (router and all releases)."""
        records: list[ProcessRecord] = []
        service = _read_json(service_dir / SERVICE_FILE)
        if service and "router" in service:
            records.append(ProcessRecord.from_dict(service["router"]))
        for release_file in sorted(service_dir.glob(f"releases/*/{local_release.RELEASE_FILE}")):
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
            if service and "router" in service and "release" in service:
                router = ProcessRecord.from_dict(service["router"])
                active = Release.from_dict(service["release"]).process
                if is_running(router) and is_running(active):
                    raise DeploymentFailed(
                        f"service_name: a local service named {service_name!r} is already running from "
                        f"{service_dir} (pids {router.pid}, {active.pid}) and this stack did not create "
                        "it: stop it (kill -TERM -- -PID for each pid) and remove that directory, "
                        "or choose another name"
                    )
            progress(f"{service_name}: removing the remains of a stopped local service in {service_dir}")
        for record in self._recorded_processes(service_dir):
            stop(record)
        shutil.rmtree(service_dir)

    def _live(
        self,
        spec: DeploymentSpec,
        service_dir: Path,
        router: ProcessRecord,
        port: int,
        release: Release,
        state: str,
    ) -> LiveDeployment:
        base = f"http://127.0.0.1:{port}"
        return LiveDeployment(
            service_name=spec.service_name,
            state=state,
            scoring_uri=f"{base}/score",
            swagger_uri=f"{base}/swagger.json",
            health_uri=f"{base}/",
            model_id=f"{spec.model_name}:{spec.model_version}",
            handle={
                "service_dir": str(service_dir),
                "port": port,
                "router": router.to_dict(),
                "release": release.to_dict(),
            },
            settings=None,  # nothing here can change them outside Pulumi
            keys=None,
        )
