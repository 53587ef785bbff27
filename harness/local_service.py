"""The local target's service for a benchmark or a test: `model_service/` and a trained model,
deployed by the real `LocalBackend` (what the provider's create runs for `pulumi up` on the
local stack) into a state directory, and deleted again however the block ends.

    with local_service(model_dir, state_dir, workers=2, scoring=ScoringSettings(max_batch=8)) as live:
        urllib.request.urlopen(live.scoring_uri, data=...)

Importable from both environments: the local backend's modules are standard library only (the
scoring one has no pulumi); `infra/` is put on sys.path by harness/__init__.py, as the provider
host has it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deployment.backend import LiveDeployment, Progress
from deployment.hashing import file_sha256, tree_sha256
from deployment.local.backend import LocalBackend
from deployment.settings import ScoringSettings, ServiceSettings
from deployment.spec import DeploymentSpec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = PROJECT_ROOT / "model_service"


def local_spec(
    model_dir: Path,
    state_dir: Path,
    *,
    name: str = "bench",
    workers: int | None = None,
    scoring: ScoringSettings | None = None,
) -> DeploymentSpec:
    """The local stack's deployment of `model_dir` (workers None: the backend's default; scoring
    None: the stack config's default, as `pulumi up` sends it)."""
    environment = SOURCE_DIR / "requirements.txt"
    return DeploymentSpec(
        service_name=name,
        backend="local",
        target={"state_dir": str(state_dir), "workers": workers},
        model_name="mnist-dnn",
        model_hash=tree_sha256(model_dir),
        source_hash=tree_sha256(SOURCE_DIR),
        environment_hash=file_sha256(environment),
        settings=ServiceSettings(replicas=1, gpu_cores=0, auth="none"),
        scoring=scoring or ScoringSettings(),
        model_dir=str(model_dir.resolve()),
        source_dir=str(SOURCE_DIR),
        environment_file=str(environment),
    )


@contextmanager
def local_service(
    model_dir: Path,
    state_dir: Path,
    *,
    name: str = "bench",
    workers: int | None = None,
    scoring: ScoringSettings | None = None,
    progress: Progress = lambda _message: None,
) -> Iterator[LiveDeployment]:
    """A healthy local service of `model_dir`; deleted on exit."""
    spec = local_spec(model_dir, state_dir, name=name, workers=workers, scoring=scoring)
    backend = LocalBackend(spec.local_target())
    live = backend.create(spec, progress)
    try:
        yield live
    finally:
        backend.delete(live)


class ScoringClient:
    """Scores one image at a time through `uri` from a thread, for as long as the block runs:
    each answered request's start (monotonic clock) and seconds, and every failure (an error,
    or an answer that is not one digit)."""

    IMAGE = json.dumps({"data": [[0.5] * 784]}).encode()

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.samples: list[tuple[float, float]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy
        while not self._stop.is_set():
            request = urllib.request.Request(self.uri, self.IMAGE, {"Content-Type": "application/json"})
            started = time.monotonic()
            try:
                with opener.open(request, timeout=30) as response:
                    digits = json.loads(response.read())
                if not (isinstance(digits, list) and len(digits) == 1):
                    raise ValueError(f"not one digit: {digits!r}")
                self.samples.append((started, time.monotonic() - started))
            except Exception as error:  # every failure counts, whatever it is
                self.failures.append(repr(error))

    def between(self, start: float, end: float) -> list[float]:
        """Seconds of the requests started between `start` and `end` (monotonic clock)."""
        return [seconds for began, seconds in self.samples if start <= began <= end]

    def __enter__(self) -> ScoringClient:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
