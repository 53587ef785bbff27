"""The stack's capacity plan (rules/capacity.py) from its config, and the config problem when a
transition the program can cause can't be scheduled on the pool."""

from __future__ import annotations

from config.cluster import check_service_fits_cluster
from config.reader import Reader
from config.types import ClusterConfig, StackConfig
from rules.capacity import BLUE_GREEN, CapacityPlan, Pool, plan_capacity, room_message, shortfall_message


def pool_of(cluster: ClusterConfig) -> Pool:
    size = cluster.gpu_size
    return Pool(
        vm_size=size.name,
        node_count=cluster.node_count,
        gpus_per_node=size.gpus,
        vcpus_per_node=size.vcpus,
        quota_family=size.quota_family,
        upgrade_max_surge=cluster.upgrade_max_surge,
    )


def stack_capacity_plan(cfg: StackConfig, other_pool_nodes: int | None = 0) -> CapacityPlan | None:
    """The plan of an Azure stack (None on the local target, which has no pool).
    `other_pool_nodes`: an adopted cluster's nodes outside the pool (the stack's own cluster has
    none); where there are any, the AzureML extension's pods are not counted on the pool."""
    if cfg.target not in ("azure", "azure-v2"):
        return None
    service = cfg.service
    autoscale = service.autoscale
    return plan_capacity(
        pool_of(cfg.cluster),
        replicas=service.replicas,
        gpu_cores=service.gpu_cores,
        target=cfg.target,
        strategy=cfg.online.strategy if cfg.online is not None else None,
        autoscale_max_replicas=autoscale.max_replicas if autoscale.enabled else None,
        cpu_cores=service.cpu_cores,
        memory_gb=service.memory_gb,
        other_pool_nodes=other_pool_nodes,
    )


def check_capacity(reader: Reader, cfg: StackConfig, other_pool_nodes: int | None = 0) -> None:
    """Fail the config where a transition needs more GPUs than the pool has (the steady state is
    config.cluster.check_service_fits_cluster's), or, GPUs being enough, where a phase's pods
    don't fit the nodes by CPU or memory."""
    plan = stack_capacity_plan(cfg, other_pool_nodes)
    if plan is None:
        return
    if not plan.shortfalls:
        if plan.room_shortfalls:
            key, message = room_message(plan)
            value = BLUE_GREEN if key == "rollout.strategy" else reader.raw(key)
            reader.fail(key, value, message)
        return
    worst = max(plan.shortfalls, key=lambda phase: phase.gpus)
    value = BLUE_GREEN if worst.key == "rollout.strategy" else reader.raw(worst.key)
    reader.fail(worst.key, value, shortfall_message(plan, cfg.target))


def check_pool(reader: Reader, cfg: StackConfig, other_pool_nodes: int | None = 0) -> None:
    """The service fits the pool in its steady state (node size, GPUs) and in every transition."""
    before = len(reader.problems)
    check_service_fits_cluster(reader, cfg.service, cfg.cluster)
    if not reader.failed_since(before):  # the transitions are checked against a steady state that fits
        check_capacity(reader, cfg, other_pool_nodes)
