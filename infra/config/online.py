"""The azure-v2 target's section (`rollout`) and the rules that differ from v1's on that target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.capacity import check_pool
from config.reader import Cast, Invalid, Reader, text, whole_number
from config.types import OnlineConfig, StackConfig
from rules import capacity, values
from rules.checks import Rule, one_of

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
    "strategy": ("strategy", text, one_of(capacity.STRATEGIES)),
}
KEYS = {"rollout": tuple(ROLLOUT_FIELDS)}


def read_online(reader: Reader, target: str) -> OnlineConfig | None:
    """The `rollout` section on azure-v2; elsewhere it must not be set. None when it is not
    there or one of its values is invalid (the problems say which)."""
    if target != TARGET:
        if reader.raw("rollout") is not None:
            reader.fail("rollout", reader.raw("rollout"), f"only with target {TARGET}")
        return None
    before = len(reader.problems)
    fields = reader.section("rollout", ROLLOUT_FIELDS)
    return None if reader.failed_since(before) else OnlineConfig(**fields)


def check_online_target(reader: Reader, cfg: StackConfig, check_the_pool: bool = True) -> None:
    """What v1 allows and a Kubernetes online endpoint can't do, then v1's pool-fit rules (not
    for an adopted pool, which is checked once it is read: adopted_pool.py)."""
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
    if cfg.online is not None and cfg.online.strategy != capacity.BLUE_GREEN:
        steps = cfg.online.traffic_steps
        if steps != OnlineConfig.traffic_steps:
            reader.fail(
                "rollout.trafficSteps",
                list(steps),
                f"[100] (unset) with rollout.strategy {cfg.online.strategy}: traffic moves in steps "
                f"only between two colours ({capacity.BLUE_GREEN})",
            )
    if check_the_pool:
        check_pool(reader, cfg)
