"""Pure translations between our `ServiceSettings` and azureml-core's `AksWebservice` arguments.

    deploy_configuration_arguments   settings → `AksWebservice.deploy_configuration(**...)`
    settings_update_arguments        old, new → `AksWebservice.update(**...)`: only what changed
    live_settings                    a service as read back → `ServiceSettings.to_dict()` shape

No I/O and no SDK import: the tests run each result through azureml-core's own validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployment.settings import ServiceSettings


def deploy_configuration_arguments(settings: ServiceSettings, tags: Mapping[str, str]) -> dict[str, Any]:
    """The keyword arguments of `AksWebservice.deploy_configuration` for these settings.

    Autoscale arguments appear only when autoscale is enabled (the SDK rejects them otherwise),
    and `num_replicas` only when it is disabled (the SDK rejects both together).
    """
    arguments: dict[str, Any] = {
        "cpu_cores": settings.cpu_cores,
        "memory_gb": settings.memory_gb,
        "gpu_cores": settings.gpu_cores,
        **_auth_arguments(settings),
        "scoring_timeout_ms": settings.scoring_timeout_ms,
        "replica_max_concurrent_requests": settings.concurrent_requests,
        "tags": dict(tags),
    }
    arguments.update(_scaling_arguments(settings))
    return arguments


def _scaling_arguments(settings: ServiceSettings) -> dict[str, Any]:
    if settings.autoscale.enabled:
        return {
            "autoscale_enabled": True,
            "autoscale_min_replicas": settings.autoscale.min_replicas,
            "autoscale_max_replicas": settings.autoscale.max_replicas,
            "autoscale_target_utilization": settings.autoscale.target_utilization,
        }
    return {"autoscale_enabled": False, "num_replicas": settings.replicas}


def _auth_arguments(settings: ServiceSettings) -> dict[str, bool]:
    return {"auth_enabled": settings.auth == "key", "token_auth_enabled": settings.auth == "token"}


def settings_update_arguments(old: ServiceSettings, new: ServiceSettings) -> dict[str, Any]:
    """The keyword arguments of `AksWebservice.update` that turn `old` into `new`.

    Scaling goes as a whole: azureml-core's update validation refuses any autoscale value
    without `autoscale_enabled=True` beside it, and `autoscale_enabled=False` without
    `num_replicas`; so any autoscale change sends the full autoscale set, and with autoscale off
    a replica change sends `num_replicas` alone (valid on its own). With autoscale on the replica
    count is the autoscaler's and never sent.
    """
    arguments: dict[str, Any] = {}
    if old.autoscale != new.autoscale:
        arguments.update(_scaling_arguments(new))
    elif not new.autoscale.enabled and old.replicas != new.replicas:
        arguments["num_replicas"] = new.replicas
    for name, old_value, new_value in (
        ("cpu_cores", old.cpu_cores, new.cpu_cores),
        ("memory_gb", old.memory_gb, new.memory_gb),
        ("gpu_cores", old.gpu_cores, new.gpu_cores),
        ("scoring_timeout_ms", old.scoring_timeout_ms, new.scoring_timeout_ms),
        (
            "replica_max_concurrent_requests",
            old.concurrent_requests,
            new.concurrent_requests,
        ),
    ):
        if old_value != new_value:
            arguments[name] = new_value
    if old.auth != new.auth:
        arguments.update(_auth_arguments(new))
    return arguments


def live_settings(service: Any, configured: ServiceSettings) -> dict[str, Any]:
    """The service's settings as read back, in `ServiceSettings.to_dict()` shape, for drift.

    Only what is meaningful is read from the service: with autoscale off the autoscaler's
    bounds are inert (AKS reports its own defaults), with autoscale on the replica count is the
    autoscaler's, so those come from `configured` and never show as drift. A value the service
    does not report is also taken from `configured`: the provider rebuilds settings from this.
    """
    resources = getattr(service, "container_resource_requirements", None)
    autoscaler = getattr(service, "autoscaler", None)
    autoscale_enabled = bool(getattr(autoscaler, "autoscale_enabled", False))
    autoscale = configured.autoscale

    def read(owner: Any, name: str, fallback: Any) -> Any:
        value = getattr(owner, name, None)
        return fallback if value is None else value

    def autoscaler_value(name: str, fallback: Any) -> Any:
        return read(autoscaler, name, fallback) if autoscale_enabled else fallback

    return {
        "replicas": configured.replicas
        if autoscale_enabled
        else read(service, "num_replicas", configured.replicas),
        "cpu_cores": read(resources, "cpu", configured.cpu_cores),
        "memory_gb": read(resources, "memory_in_gb", configured.memory_gb),
        "gpu_cores": read(resources, "gpu", configured.gpu_cores),
        "autoscale": {
            "enabled": autoscale_enabled,
            "min_replicas": autoscaler_value("min_replicas", autoscale.min_replicas),
            "max_replicas": autoscaler_value("max_replicas", autoscale.max_replicas),
            "target_utilization": autoscaler_value("target_utilization", autoscale.target_utilization),
        },
        "auth": auth_of(service),
        "scoring_timeout_ms": read(service, "scoring_timeout_ms", configured.scoring_timeout_ms),
        "max_concurrent_requests_per_replica": read(
            service, "max_concurrent_requests_per_container", configured.concurrent_requests
        ),
    }


def auth_of(service: Any) -> str:
    """The service's auth mode in our words: "token", "key" or "none"."""
    if getattr(service, "token_auth_enabled", False):
        return "token"
    return "key" if getattr(service, "auth_enabled", False) else "none"
