"""What a deployment runs on and how it is sized: plain, frozen, serializable values.

The field defaults are the stack config's defaults. `config_service.py` builds these from the
stack config; `resource.py` carries them into the provider's inputs (`to_dict`), and the provider
reads them back (`from_dict`). The ranges live in `rules/values.py`, checked by both the stack
config and the provider's `check`; combinations with the cluster are checked in config only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args, get_type_hints

AuthMode = Literal["key", "token", "none"]
AUTH_MODES: tuple[str, ...] = get_args(AuthMode)


@dataclass(frozen=True)
class Autoscale:
    enabled: bool = False
    min_replicas: int = 1
    max_replicas: int = 1
    target_utilization: int = 70


@dataclass(frozen=True)
class ServiceSettings:
    """The service settings of the how-to's `AksWebservice.deploy_configuration`."""

    replicas: int = 3
    cpu_cores: float = 2.0
    memory_gb: float = 4.0
    gpu_cores: int = 1
    autoscale: Autoscale = field(default_factory=Autoscale)
    auth: AuthMode = "key"
    scoring_timeout_ms: int = 60_000
    max_concurrent_requests_per_replica: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServiceSettings:
        # Values come back from the engine through protobuf, which turns ints into floats.
        autoscale = dict(data.get("autoscale") or {})
        types = get_type_hints(Autoscale)
        given = {f.name: types[f.name](autoscale[f.name]) for f in fields(Autoscale) if f.name in autoscale}
        return cls(
            replicas=int(data["replicas"]),
            cpu_cores=float(data["cpu_cores"]),
            memory_gb=float(data["memory_gb"]),
            gpu_cores=int(data["gpu_cores"]),
            autoscale=Autoscale(**given),  # absent fields: the defaults above
            auth=str(data["auth"]),  # type: ignore[arg-type]
            scoring_timeout_ms=int(data["scoring_timeout_ms"]),
            max_concurrent_requests_per_replica=int(data["max_concurrent_requests_per_replica"]),
        )
