"""`AzureMlHandle`: what the Azure backend records in state to find its service again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

TARGET_FIELDS = ("subscription_id", "resource_group", "workspace_name", "compute_name")


@dataclass(frozen=True)
class AzureMlHandle:
    """The workspace coordinates, the service, and the ownership tags create put on it."""

    subscription_id: str
    resource_group: str
    workspace_name: str
    compute_name: str
    service_name: str
    owner: str  # the OWNER_TAG value
    deployment_id: str  # the DEPLOYMENT_ID_TAG value: fresh per create
    model_id: str = ""  # "<name>:<version>" last seen

    @classmethod
    def for_new_service(cls, target: Any, service_name: str, owner: str, deployment_id: str) -> AzureMlHandle:
        """The handle of a service about to be created on `target` (a mapping or an object)."""
        values: dict[str, str] = {}
        for name in TARGET_FIELDS:
            value = target.get(name) if isinstance(target, Mapping) else getattr(target, name, None)
            if not isinstance(value, str) or not value:
                raise ValueError(f"target.{name}: {value!r} is not usable; expected a non-empty string")
            values[name] = value
        return cls(**values, service_name=service_name, owner=owner, deployment_id=deployment_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AzureMlHandle:
        required = [f.name for f in fields(cls) if f.name != "model_id"]
        missing = [name for name in required if not data.get(name)]
        if missing:
            raise ValueError(
                f"handle: {', '.join(missing)} missing; expected the handle that create returned"
            )
        return cls(**{f.name: str(data.get(f.name) or "") for f in fields(cls)})

    def with_model(self, model_id: str) -> AzureMlHandle:
        return replace(self, model_id=model_id)
