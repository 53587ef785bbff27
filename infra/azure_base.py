"""What both Azure targets declare and check before their own parts (`declare_azure_base`):

the subscription and the stack's names; for `cluster.existing`, the adopted pool read from Azure
and checked (adopted_pool.py), which then stands in the config where a configured pool would;
else, on azure-v2, the live cluster's VM size, which the config may not change
(cluster_replacement.py);
the capacity plan, the quota and the cost estimate as info diagnostics; and the workspace
(created, or adopted in its own subscription). The targets (v1/target.py, v2/target.py) build on
the `AzureBase` it returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from adopted_pool import AdoptedPool, AzureReads, check_adopted_fit, read_adopted_pool, with_adopted_pool
from capacity_report import capacity_lines
from cluster_replacement import check_cluster_not_replaced
from config import StackConfig
from cost import describe, estimate_stack, price_book_from_environment, stack_output
from gpu_aks import GPU_POOL_NAME
from naming import StackNames, default_name_suffix, stack_names
from workspace import MlWorkspace, MlWorkspaceArgs


@dataclass(frozen=True)
class AzureBase:
    cfg: StackConfig  # with the name suffix resolved and, when adopting, the adopted pool
    names: StackNames
    workspace: MlWorkspace
    cluster_opts: pulumi.ResourceOptions | None  # the adopted workspace's subscription, if any
    adopted_pool: AdoptedPool | None
    exports: dict[str, Any]


def declare_azure_base(cfg: StackConfig, source: Mapping[str, Any], environ: Mapping[str, str]) -> AzureBase:
    """`source`: the config as set (refusals quote it); `environ`: the engine's (credentials)."""
    existing = cfg.existing_workspace
    subscription = (
        existing.subscription_id
        if existing is not None
        else azure_native.authorization.get_client_config().subscription_id
    )
    # Global names unique per deployer: without nameSuffix, mix in the subscription.
    suffix = cfg.name_suffix or default_name_suffix(pulumi.get_project(), cfg.stack, subscription)
    cfg = dataclasses.replace(cfg, name_suffix=suffix)
    names = stack_names(cfg.name_prefix, cfg.stack, suffix)
    cluster_opts = None
    invoke_opts = None
    if existing is not None:
        # The workspace lookup, the cluster and the attach belong in the adopted workspace's
        # subscription, whichever subscription the default provider is configured for.
        adopted_subscription = azure_native.Provider(
            "adopted-subscription", subscription_id=existing.subscription_id
        )
        cluster_opts = pulumi.ResourceOptions(providers=[adopted_subscription])
        invoke_opts = pulumi.InvokeOptions(provider=adopted_subscription)
    adopted_pool = None
    reads = AzureReads(invoke_opts)
    group = existing.resource_group if existing else names.resource_group
    if cfg.cluster.existing is not None:
        workspace_name = existing.name if existing else names.workspace
        adopted_pool = read_adopted_pool(cfg, subscription, group, workspace_name, reads)
        cfg = with_adopted_pool(cfg, adopted_pool)
        check_adopted_fit(source, cfg, adopted_pool)
    else:
        check_cluster_not_replaced(cfg, group, names.cluster, GPU_POOL_NAME, reads.cluster, pulumi.log.warn)
    # Before any resource: GPUs per phase, surge nodes, the vCPU quota (checked with credentials).
    other_pool_nodes = adopted_pool.other_pool_nodes if adopted_pool is not None else 0
    for level, line in capacity_lines(cfg, environ, other_pool_nodes=other_pool_nodes):
        (pulumi.log.warn if level == "warn" else pulumi.log.info)(line)
    # What the stack costs (docs/cost.md): a few lines in the engine's output, the hourly figure exported.
    estimate = estimate_stack(cfg, price_book_from_environment(environ))
    assert estimate is not None
    pulumi.log.info(describe(estimate))
    workspace = MlWorkspace(
        "ml",
        MlWorkspaceArgs(names=names, location=cfg.location, tags=cfg.tags, existing=existing),
        opts=cluster_opts,
    )
    exports = {
        "cost_per_hour": stack_output(estimate),
        "subscription_id": workspace.subscription_id,
        "resource_group": workspace.resource_group_name,
        "workspace_name": workspace.workspace_name,
        "workspace_id": workspace.workspace_id,
    }
    return AzureBase(cfg, names, workspace, cluster_opts, adopted_pool, exports)


def cluster_exports(cluster: Any) -> dict[str, Any]:
    """What an Azure stack exports of its cluster; no kubeconfig for one it adopted (not ours)."""
    exports = {"cluster_name": cluster.cluster_name, "compute_name": cluster.compute_name}
    if cluster.kubeconfig is not None:
        exports["kubeconfig"] = cluster.kubeconfig
    return exports
