"""The interface between the provider and the places a model can be deployed to.

    ModelDeploymentProvider (provider.py)
        └── Backend: LocalBackend (local/backend.py) | AzureMlBackend (azureml/backend.py)

A backend receives a `DeploymentSpec` (spec.py) and reports a `LiveDeployment`. The provider
stores `LiveDeployment.to_dict()` in the resource's outputs and hands it back on later calls, so
the backend's `handle` must hold everything it needs to find what it created again. Backends
are constructed at call time and capture no credentials in anything the provider pickles.

Errors: `DeploymentFailed` carries the tail of the service's logs. A service that is gone is no
error: `read` returns None and `delete` succeeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from deployment.spec import DeploymentSpec

Progress = Callable[[str], None]


class DeploymentFailed(Exception):
    """The service did not become healthy (or an operation on it failed); `logs` has its tail."""

    def __init__(self, message: str, logs: str = "") -> None:
        super().__init__(f"{message}\n--- service log (tail) ---\n{logs}" if logs else message)
        self.logs = logs


@dataclass(frozen=True)
class LiveDeployment:
    """What a backend reports about a service it runs."""

    service_name: str
    state: str  # "Healthy", "Unhealthy", "Failed", "Transitioning", ... (Azure ML's words)
    scoring_uri: str
    swagger_uri: str | None
    health_uri: str | None
    model_id: str  # "<model name>:<version>"
    # The backend's own handle (LocalHandle, AzureMlHandle) as its `to_dict()`; the backend reads
    # it back with its `from_dict` on every call.
    handle: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] | None = None  # the live settings as read back, for drift
    keys: tuple[str, str] | None = None  # primary, secondary; only ever exported as secrets

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["keys"] = list(self.keys) if self.keys else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LiveDeployment:
        keys = data.get("keys")
        return cls(
            service_name=data["service_name"],
            state=data["state"],
            scoring_uri=data["scoring_uri"],
            swagger_uri=data.get("swagger_uri"),
            health_uri=data.get("health_uri"),
            model_id=data["model_id"],
            handle=dict(data.get("handle") or {}),
            settings=dict(data["settings"]) if data.get("settings") is not None else None,
            keys=(keys[0], keys[1]) if keys else None,
        )


class Backend(Protocol):
    def create(self, spec: DeploymentSpec, progress: Progress) -> LiveDeployment:
        """Deploy and wait until healthy. Transactional: on failure nothing is left behind and
        `DeploymentFailed` carries the log tail. A service of the same name that this backend
        did not create is an error, never overwritten."""

    def update(
        self, current: LiveDeployment, old: DeploymentSpec, new: DeploymentSpec, progress: Progress
    ) -> LiveDeployment:
        """Change the running service from `old` to `new` in place and wait until healthy.
        On failure the previous version keeps serving where the backend can ensure it."""

    def read(self, current: LiveDeployment, spec: DeploymentSpec) -> LiveDeployment | None:
        """What is live now; None when the service is gone."""

    def delete(self, current: LiveDeployment) -> None:
        """Remove the service. Already gone is success."""

    def logs(self, current: LiveDeployment, tail_lines: int = 100) -> str:
        """The last lines of the service's logs ("" when there are none)."""
