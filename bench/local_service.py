"""The local target's service for a benchmark or a test: `model_service/` and a trained model,
deployed by the real `LocalBackend` (what the provider's create runs for `pulumi up` on the
local stack) into a state directory, and deleted again however the block ends.

    with local_service(model_dir, state_dir, workers=2) as live:
        urllib.request.urlopen(live.scoring_uri, data=...)

Importable from the program environment only (the backend's modules); `infra/` is put on
sys.path by bench/__init__.py, as the provider host has it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deployment.backend import LiveDeployment, Progress
from deployment.hashing import file_sha256, tree_sha256
from deployment.local_backend import LocalBackend
from deployment.settings import ServiceSettings
from deployment.spec import DeploymentSpec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = PROJECT_ROOT / "model_service"


def local_spec(
    model_dir: Path, state_dir: Path, *, name: str = "bench", workers: int | None = None
) -> DeploymentSpec:
    """The local stack's deployment of `model_dir` (workers None: the backend's default)."""
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
    progress: Progress = lambda _message: None,
) -> Iterator[LiveDeployment]:
    """A healthy local service of `model_dir`; deleted on exit."""
    spec = local_spec(model_dir, state_dir, name=name, workers=workers)
    backend = LocalBackend(spec.local_target())
    live = backend.create(spec, progress)
    try:
        yield live
    finally:
        backend.delete(live)
