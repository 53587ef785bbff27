"""What a deployment runs on and how it is sized: plain, frozen, serializable values.

The field defaults are the stack config's defaults. `config/service.py` and `config/scoring.py`
build these from the stack config; `resource.py` carries them into the provider's inputs
(`to_dict`), and the provider reads them back (`from_dict`). The ranges live in `rules/values.py`
and `rules/scoring.py`, checked by both the stack config and the provider's `check`; combinations
with the cluster are checked in config only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, TypeGuard, get_args, get_type_hints

from rules import scoring

AuthMode = Literal["key", "token", "none"]
AUTH_MODES: tuple[str, ...] = get_args(AuthMode)


def _is_auth_mode(value: str) -> TypeGuard[AuthMode]:
    return value in AUTH_MODES


def auth_mode(value: Any) -> AuthMode:
    """`value` as an `AuthMode`; ValueError when it is none (the provider's `check` has refused
    such inputs already, so only a hand-edited state gets here)."""
    text = str(value)
    if not _is_auth_mode(text):
        raise ValueError(f"settings.auth: {text!r} is not allowed: one of {', '.join(AUTH_MODES)}")
    return text


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
    # None: the replica's inference server workers (`inference_workers`): requests beyond them
    # only queue inside the replica (docs/scoring.md, "Workers"). Construction puts the number
    # in (so equal settings compare equal and the state holds the number); read it as
    # `concurrent_requests`, which needs no None check.
    max_concurrent_requests_per_replica: int | None = None

    def __post_init__(self) -> None:
        if self.max_concurrent_requests_per_replica is None:
            object.__setattr__(self, "max_concurrent_requests_per_replica", self.inference_workers)

    @property
    def concurrent_requests(self) -> int:
        """The requests one replica takes at once: the configured number, else its workers."""
        configured = self.max_concurrent_requests_per_replica
        return self.inference_workers if configured is None else configured

    @property
    def inference_workers(self) -> int:
        """azmlinfsrv's workers (WORKER_COUNT) in one replica of these cores, this memory and
        these GPUs."""
        return scoring.inference_workers(self.cpu_cores, self.memory_gb, self.gpu_cores)

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
            auth=auth_mode(data["auth"]),
            scoring_timeout_ms=int(data["scoring_timeout_ms"]),
            max_concurrent_requests_per_replica=int(data["max_concurrent_requests_per_replica"]),
        )


@dataclass(frozen=True)
class ScoringSettings:
    """The entry script's settings as the deployment sets them, passed to it as its SCORE_*
    environment variables; defaults and ranges are the scorer's own (rules/scoring.py). The
    running scorer reads them back, with its model directory, as model_service's
    `ScorerRuntimeSettings`."""

    max_batch: int = scoring.DEFAULTS["max_batch"]
    max_body_bytes: int = scoring.DEFAULTS["max_body_bytes"]
    # None: the default sizes the batch limit allows, as the scorer chooses them itself.
    # Construction puts them in; read them as `warmup_sizes`, which needs no None check.
    warmup_batches: tuple[int, ...] | None = None
    tf_threads: int = scoring.DEFAULTS["tf_threads"]
    forward: str = scoring.DEFAULTS["forward"]
    # None: the target decides (azure, azure-v2: true when service.gpuCores >= 1; local: unset,
    # the scorer's false). An explicit value wins everywhere.
    require_gpu: bool | None = None
    gpu_min_batch: int = scoring.DEFAULTS["gpu_min_batch"]

    def __post_init__(self) -> None:
        sizes = self.warmup_batches
        value = scoring.default_warmup_batches(self.max_batch) if sizes is None else tuple(sizes)
        object.__setattr__(self, "warmup_batches", value)

    @property
    def warmup_sizes(self) -> tuple[int, ...]:
        """The warm-up batch sizes: the configured ones, else the scorer's defaults."""
        sizes = self.warmup_batches
        return scoring.default_warmup_batches(self.max_batch) if sizes is None else sizes

    def environment(self) -> dict[str, str]:
        """The entry script's environment variables for these settings (SCORE_REQUIRE_GPU only
        when it is set: unset, the target decides)."""
        values = {**asdict(self), "warmup_batches": ",".join(str(size) for size in self.warmup_sizes)}
        if self.require_gpu is None:
            del values["require_gpu"]
        else:
            values["require_gpu"] = scoring.boolean_variable(self.require_gpu)
        return {scoring.VARIABLES[name]: str(value) for name, value in values.items()}

    def to_dict(self) -> dict[str, Any]:
        values = {**asdict(self), "warmup_batches": list(self.warmup_sizes)}
        if self.require_gpu is None:
            del values["require_gpu"]  # absent: the target decides
        return values

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoringSettings:
        # Through protobuf every number is a float; absent fields take the defaults above.
        given: dict[str, Any] = {name: int(data[name]) for name in scoring.RANGES if name in data}
        if data.get("warmup_batches") is not None:
            given["warmup_batches"] = tuple(int(size) for size in data["warmup_batches"])
        if "forward" in data:
            given["forward"] = str(data["forward"])
        if data.get("require_gpu") is not None:
            given["require_gpu"] = bool(data["require_gpu"])
        return cls(**given)
