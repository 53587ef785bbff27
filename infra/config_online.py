"""The azure-v2 target's section (`rollout`) and the rules that differ from v1's on that target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config_cluster import check_service_fits_cluster
from config_reader import Cast, Invalid, Reader, whole_number
from config_types import OnlineConfig, StackConfig
from rules import values
from rules.checks import Rule

TARGET = "azure-v2"


def percentages(value: Any) -> tuple[Any, ...]:
    """A list of numbers (the engine sends it as JSON text inside the `rollout` object)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise Invalid(values.TRAFFIC_STEPS.allowed)
    try:
        return tuple(whole_number(step) for step in value)
    except Invalid:
        raise Invalid(values.TRAFFIC_STEPS.allowed) from None


ROLLOUT_FIELDS: Mapping[str, tuple[str, Cast, Rule | None]] = {
    "trafficSteps": ("traffic_steps", percentages, values.TRAFFIC_STEPS),
}
KEYS = {"rollout": tuple(ROLLOUT_FIELDS)}


def read_online(reader: Reader, target: str) -> OnlineConfig | None:
    """The `rollout` section on azure-v2; elsewhere it must not be set (None)."""
    if target != TARGET:
        if reader.raw("rollout") is not None:
            reader.fail("rollout", reader.raw("rollout"), f"only with target {TARGET}")
        return None
    return OnlineConfig(**reader.section("rollout", ROLLOUT_FIELDS))


def check_online_target(reader: Reader, cfg: StackConfig) -> None:
    """What v1 allows and a Kubernetes online endpoint can't do, then v1's pool-fit rules."""
    if cfg.service.autoscale.enabled:
        reader.fail(
            "service.autoscale.enabled",
            True,
            f"false on {TARGET}: the deployment runs exactly service.replicas (scaleSettings Default)",
        )
    if cfg.service.auth == "none":
        reader.fail(
            "service.authEnabled",
            False,
            f"on {TARGET} an endpoint needs key or token auth: service.authEnabled or "
            "service.tokenAuthEnabled = true",
        )
    ssl = cfg.cluster.ssl
    if ssl is not None and ssl.leaf_domain_label:
        reader.fail(
            "cluster.ssl.leafDomainLabel",
            ssl.leaf_domain_label,
            f"not on {TARGET} (no Microsoft-issued certificate): sslCertificate/sslKey with "
            "cluster.ssl.cname, or no TLS",
        )
    check_service_fits_cluster(reader, cfg.service, cfg.cluster)
