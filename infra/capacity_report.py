"""What `pulumi preview` and `up` say about capacity before anything is created: the stack's GPU
capacity plan (rules/capacity.py) as an info diagnostic, and the VM family's regional vCPU quota
checked where the engine has credentials (quota.py), else said to be unchecked.

The plan's GPU shortfalls were refused earlier, by the config (config/capacity.py); the quota is
read here because it needs Azure, and a pool the quota can never hold fails the run the same way,
as a config problem naming `cluster.nodeCount`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from config.capacity import stack_capacity_plan
from config.reader import ConfigError, Problem
from config.types import StackConfig
from quota import FamilyQuota, QuotaError, missing_credentials, read_family_quota
from rules.capacity import CapacityPlan

QuotaReader = Callable[[Mapping[str, str], str, str], "FamilyQuota | None"]


@dataclass(frozen=True)
class QuotaVerdict:
    level: str  # "info" or "warn"
    message: str


def quota_verdict(
    plan: CapacityPlan, location: str, environ: Mapping[str, str], read: QuotaReader = read_family_quota
) -> QuotaVerdict:
    """The quota line for the plan; raises ConfigError when the family's limit is below it."""
    pool = plan.pool
    family, needed = pool.quota_family, pool.quota_vcpus
    missing = missing_credentials(environ)
    if missing:
        return QuotaVerdict(
            "info",
            f"vCPU quota of {family} in {location}: not checked (no {', '.join(missing)} in the "
            f"engine's environment); the pool needs {needed}",
        )
    try:
        quota = read(environ, location, family)
    except QuotaError as error:
        return QuotaVerdict("warn", f"vCPU quota of {family} in {location}: not checked ({error})")
    if quota is None:
        return QuotaVerdict(
            "warn", f"vCPU quota of {family} in {location}: not checked (the region lists no such family)"
        )
    numbers = f"limit {quota.limit}, in use {quota.used}, the pool needs {needed}"
    if needed > quota.limit:
        raise ConfigError(
            [
                Problem(
                    "cluster.nodeCount",
                    pool.node_count,
                    f"the pool needs {needed} vCPUs of {family} in {location} (({pool.node_count} nodes "
                    f"+ {pool.upgrade_max_surge} upgrade surge) × {pool.vcpus_per_node}), but the "
                    f"subscription's quota is {quota.limit} ({quota.used} in use): request more quota "
                    "for the family, or fewer or smaller nodes",
                )
            ]
        )
    if needed > quota.free:
        # Our own nodes count as in use once the cluster exists, so this is only a warning.
        return QuotaVerdict(
            "warn",
            f"vCPU quota of {family} in {location}: {numbers}; only {quota.free} free if none are ours",
        )
    return QuotaVerdict("info", f"vCPU quota of {family} in {location}: {numbers}: fits")


def capacity_lines(
    cfg: StackConfig,
    environ: Mapping[str, str],
    read: QuotaReader = read_family_quota,
    other_pool_nodes: int = 0,
):
    """(level, text) diagnostics for an Azure stack, the plan first; none on the local target.
    `other_pool_nodes`: an adopted cluster's nodes outside the pool (stack_capacity_plan)."""
    plan = stack_capacity_plan(cfg, other_pool_nodes)
    if plan is None:
        return []
    existing = cfg.cluster.existing
    if existing is not None:  # the adopted pool's nodes exist already: the stack adds none
        adopted = existing.compute_name or existing.cluster_id
        return [
            ("info", plan.describe()),
            (
                "info",
                f"vCPU quota: not checked (the stack adds no nodes to the adopted cluster of {adopted})",
            ),
        ]
    verdict = quota_verdict(plan, cfg.location, environ, read)
    return [("info", plan.describe()), (verdict.level, verdict.message)]
