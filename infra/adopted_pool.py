"""The pool of an adopted cluster (`cluster.existing`), read from Azure at preview, and the checks
that the service fits it.

A stack that adopts a cluster configures no pool: what the fit checks and the capacity plan need
(GPU size, node count, upgrade surge) is the cluster's own, read through azure-native's functions
(`getCompute` for an adopted compute, then `getManagedCluster` for its cluster) before any resource
is declared. `with_adopted_pool` puts it into the stack config, so every later rule
(config.capacity.check_pool, the capacity plan, the extension's settings) reads the real pool.

Which pool: v1 deploys only to the cluster's first node pool; v2's instance type selects one
(`cluster.existing.nodePool`, by default the first). Whatever can't be read or is of the wrong
kind fails the run as a config problem naming the key, before anything is created; nothing is
guessed. The adopted cluster must be in the workspace's subscription: the functions read it with
the workspace's provider.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pulumi
from pulumi_azure_native import containerservice, machinelearningservices

from config.capacity import check_pool
from config.cluster import check_fast_prod
from config.reader import ConfigError, Problem, nest
from config.types import StackConfig
from rules.gpu_sizes import GPU_SIZES, canonical_size
from rules.values import AKS_CLUSTER_ID_PATTERN

# The compute type each target deploys to (Azure ML's computeType).
COMPUTE_TYPES = {"azure": "AKS", "azure-v2": "Kubernetes"}
# AKS's maxSurge when a pool sets none: 10%, fractional nodes rounded up.
AKS_DEFAULT_MAX_SURGE_PERCENT = 10
_CLUSTER_ID = re.compile(AKS_CLUSTER_ID_PATTERN, re.IGNORECASE)


@dataclass(frozen=True)
class AdoptedPool:
    """The adopted cluster and the pool the service runs on, as Azure reports them."""

    cluster_id: str
    cluster_name: str
    resource_group: str
    location: str
    pool_name: str
    vm_size: str  # a GPU size of rules/gpu_sizes.py, canonical spelling
    node_count: int
    upgrade_max_surge: int  # nodes AKS adds to this pool while it upgrades
    total_nodes: int  # in every pool of the cluster
    compute_name: str | None = None  # the adopted compute, where one is adopted
    compute_id: str | None = None

    @property
    def other_pool_nodes(self) -> int:
        """The cluster's nodes outside the pool, where the AzureML extension's pods may run."""
        return self.total_nodes - self.node_count

    def describe(self) -> str:
        return (
            f"adopted cluster {self.cluster_name} (resource group {self.resource_group}, "
            f"{self.location}), pool {self.pool_name}: {self.node_count} × {self.vm_size}, read from Azure"
        )


class AzureReads:
    """The two azure-native functions the lookup calls, with the workspace's provider (under the
    program's mocks, the fake Azure answers them)."""

    def __init__(self, invoke_opts: pulumi.InvokeOptions | None = None) -> None:
        self.opts = invoke_opts

    def compute(self, resource_group: str, workspace: str, name: str) -> Any:
        return machinelearningservices.get_compute(
            resource_group_name=resource_group, workspace_name=workspace, compute_name=name, opts=self.opts
        )

    def cluster(self, resource_group: str, name: str) -> Any:
        return containerservice.get_managed_cluster(
            resource_group_name=resource_group, resource_name=name, opts=self.opts
        )


def read_adopted_pool(
    cfg: StackConfig,
    workspace_subscription: str,
    workspace_resource_group: str,
    workspace_name: str,
    reads: AzureReads,
) -> AdoptedPool:
    """Read and check the adopted cluster's pool; ConfigError names the key and what was found."""
    existing = cfg.cluster.existing
    assert existing is not None
    compute = None
    value: str | None
    if existing.compute_name is not None:
        name = existing.compute_name
        key, value = "cluster.existing.computeName", name
        compute = _read(
            key,
            value,
            f"compute {value} of workspace {workspace_name}",
            lambda: reads.compute(workspace_resource_group, workspace_name, name),
        )
        cluster_id = _adopted_compute_cluster(key, name, compute, cfg.target, workspace_name)
    else:
        key, value = "cluster.existing.clusterId", existing.cluster_id
        assert existing.cluster_id is not None  # config/existing_cluster.py: one of the two is set
        cluster_id = existing.cluster_id
    match = _CLUSTER_ID.fullmatch(cluster_id)
    assert match is not None  # the config rule, or _adopted_compute_cluster, checked the form
    if match["subscription"].lower() != workspace_subscription.lower():
        raise _problem(
            key,
            value,
            f"cluster {match['name']} is in subscription {match['subscription']}, the workspace in "
            f"{workspace_subscription}: adopt a cluster of the workspace's subscription",
        )
    cluster = _read(
        key,
        value,
        f"AKS cluster {match['name']} in resource group {match['group']}",
        lambda: reads.cluster(match["group"], match["name"]),
    )
    profiles = list(cluster.agent_pool_profiles or [])
    profile = _select_pool(key, value, profiles, existing.node_pool, match["name"])
    size = canonical_size(profile.vm_size or "")
    if size is None:
        where = (
            "SDK v1 deploys to the first pool only, so it must be the GPU pool"
            if cfg.target == "azure"
            else "name a GPU pool with cluster.existing.nodePool"
        )
        raise _problem(
            key,
            value,
            f"pool {profile.name} of cluster {match['name']} runs {profile.vm_size}, not a GPU size "
            f"({', '.join(GPU_SIZES)}): {where}",
        )
    count = int(profile.count or 0)
    return AdoptedPool(
        cluster_id=cluster.id or cluster_id,
        cluster_name=cluster.name or match["name"],
        resource_group=match["group"],
        location=cluster.location or "",
        pool_name=profile.name,
        vm_size=size,
        node_count=count,
        upgrade_max_surge=surge_nodes(_max_surge(profile), count),
        total_nodes=sum(int(p.count or 0) for p in profiles),
        compute_name=existing.compute_name,
        compute_id=compute.id if compute is not None else None,
    )


def surge_nodes(max_surge: str | None, node_count: int) -> int:
    """AKS's maxSurge as nodes: "2" → 2, "33%" → a third, rounded up; unset → AKS's default."""
    text = (max_surge or f"{AKS_DEFAULT_MAX_SURGE_PERCENT}%").strip()
    if text.endswith("%"):
        return math.ceil(node_count * float(text[:-1]) / 100)
    return int(text)


def with_adopted_pool(cfg: StackConfig, pool: AdoptedPool) -> StackConfig:
    """The stack config with the adopted pool where a stack's own pool would be."""
    cluster = replace(
        cfg.cluster,
        vm_size=pool.vm_size,
        node_count=pool.node_count,
        upgrade_max_surge=pool.upgrade_max_surge,
    )
    return replace(cfg, cluster=cluster)


def check_adopted_fit(source: Mapping[str, Any], cfg: StackConfig, pool: AdoptedPool) -> None:
    """The rules a stack's own pool meets at config time, on the adopted pool (`cfg` from
    with_adopted_pool); ConfigError names the service key, the numbers and the cluster and pool."""
    reader = nest(source)  # the config as set: a refused value is shown as the user wrote it
    checked_from = len(reader.problems)
    check_pool(reader, cfg, pool.other_pool_nodes)
    if cfg.cluster.existing is not None and cfg.cluster.existing.cluster_id is not None:
        check_fast_prod(reader, cfg.cluster)  # the attach this stack adds sends the purpose
    found = reader.problems[checked_from:]
    if found:
        raise ConfigError(Problem(p.key, p.value, f"{p.allowed} [{pool.describe()}]") for p in found)


def _read(key: str, value: Any, what: str, read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception as error:  # the engine's invoke error carries Azure's answer as text
        text = str(error)
        if "404" in text or "NotFound" in text:
            raise _problem(key, value, f"{what} does not exist ({_short(text)})") from None
        raise _problem(
            key,
            value,
            f"{what} could not be read ({_short(text)}): adopting needs read access to it at "
            "preview, so its pool is not guessed",
        ) from None


def _adopted_compute_cluster(key: str, name: str, compute: Any, target: str, workspace: str) -> str:
    properties = compute.properties or {}
    kind = properties.get("computeType")
    wanted = COMPUTE_TYPES[target]
    if kind != wanted:
        raise _problem(
            key,
            name,
            f"compute {name} of workspace {workspace} is of type {kind}; target {target} deploys to "
            f"an {wanted} compute",
        )
    state = properties.get("provisioningState")
    if state not in (None, "Succeeded"):
        raise _problem(key, name, f"compute {name} is {state}, not Succeeded: repair or re-attach it first")
    cluster_id = str(properties.get("resourceId") or "")
    if not _CLUSTER_ID.fullmatch(cluster_id):
        raise _problem(
            key,
            name,
            f"compute {name} attaches {cluster_id or 'no resource'}, not an AKS cluster: the pool is "
            "read from AKS, so only computes on AKS clusters can be adopted",
        )
    return cluster_id


def _select_pool(key: str, value: Any, profiles: list[Any], wanted: str | None, cluster: str) -> Any:
    if not profiles:
        raise _problem(key, value, f"cluster {cluster} reports no node pools")
    if wanted is None:
        return profiles[0]
    for profile in profiles:
        if profile.name == wanted:
            return profile
    names = ", ".join(f"{p.name} ({p.vm_size})" for p in profiles)
    raise _problem("cluster.existing.nodePool", wanted, f"a node pool of cluster {cluster}: one of {names}")


def _max_surge(profile: Any) -> str | None:
    settings = profile.upgrade_settings
    return settings.max_surge if settings is not None else None


def _problem(key: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError([Problem(key, value, allowed)])


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
