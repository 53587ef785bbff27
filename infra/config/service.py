"""The `service` section (the how-to's `AksWebservice.deploy_configuration`) and the `local` one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config.reader import Cast, Reader, boolean, number, path_under, whole_number
from deployment.settings import Autoscale, ServiceSettings
from deployment.targets import LocalTarget
from rules import values
from rules.checks import Rule

# config key → (ServiceSettings field, cast, rule). `name` is the StackConfig's service_name;
# `authEnabled`/`tokenAuthEnabled` together make `auth`.
SERVICE_FIELDS: Mapping[str, tuple[str, Cast, Rule | None]] = {
    "replicas": ("replicas", whole_number, values.SERVICE_SETTINGS["replicas"]),
    "cpuCores": ("cpu_cores", number, values.SERVICE_SETTINGS["cpu_cores"]),
    "memoryGb": ("memory_gb", number, values.SERVICE_SETTINGS["memory_gb"]),
    "gpuCores": ("gpu_cores", whole_number, values.SERVICE_SETTINGS["gpu_cores"]),
    "scoringTimeoutMs": ("scoring_timeout_ms", whole_number, values.SERVICE_SETTINGS["scoring_timeout_ms"]),
    "maxConcurrentRequestsPerReplica": (
        "max_concurrent_requests_per_replica",
        whole_number,
        values.SERVICE_SETTINGS["max_concurrent_requests_per_replica"],
    ),
}
AUTOSCALE_FIELDS: Mapping[str, tuple[str, Cast, Rule | None]] = {
    "enabled": ("enabled", boolean, None),
    "minReplicas": ("min_replicas", whole_number, values.AUTOSCALE["min_replicas"]),
    "maxReplicas": ("max_replicas", whole_number, values.AUTOSCALE["max_replicas"]),
    "targetUtilization": ("target_utilization", whole_number, values.AUTOSCALE["target_utilization"]),
}
AUTH_KEYS = ("authEnabled", "tokenAuthEnabled")
KEYS = {
    "service": ("name", *SERVICE_FIELDS, "autoscale", *AUTH_KEYS),
    "service.autoscale": tuple(AUTOSCALE_FIELDS),
    "local": ("python", "stateDir", "workers"),
}


def read_service(reader: Reader) -> ServiceSettings | None:
    """The service settings, or None when one of them is invalid (the problems say which)."""
    before = len(reader.problems)
    fields = reader.section("service", SERVICE_FIELDS)
    autoscale = Autoscale(**reader.section("service.autoscale", AUTOSCALE_FIELDS))
    auth = _auth(reader)
    if autoscale.min_replicas > autoscale.max_replicas:
        reader.fail(
            "service.autoscale.minReplicas",
            autoscale.min_replicas,
            f"≤ service.autoscale.maxReplicas ({autoscale.max_replicas})",
        )
    if reader.failed_since(before):
        return None
    given: dict[str, Any] = {**fields, **({"auth": auth} if auth else {})}
    return ServiceSettings(**given, autoscale=autoscale)


def _auth(reader: Reader) -> str | None:
    """Key auth unless switched off; token auth only instead of it. None: the default."""
    key, token = (reader.read(f"service.{name}", boolean) for name in AUTH_KEYS)
    if key is None and token is None:
        return None
    key_on = key if key is not None else ServiceSettings().auth == "key"
    if key_on and token:
        reader.fail(
            "service.tokenAuthEnabled",
            True,
            "not together with service.authEnabled = true: choose key auth or token auth",
        )
        return None
    return "key" if key_on else "token" if token else "none"


def read_local_target(reader: Reader, project_root: Path) -> LocalTarget:
    def path(value: object) -> str:
        return str(path_under(project_root)(value))

    return LocalTarget(
        python=reader.read("local.python", path),
        state_dir=reader.read("local.stateDir", path),
        workers=reader.read("local.workers", whole_number, values.LOCAL_WORKERS),
    )
