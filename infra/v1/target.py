"""The azure target wired on the `AzureBase`: the stack's GPU AKS cluster and its attach
(`GpuAksCluster`), or an adopted cluster (`AdoptedCluster`: attached by id, or its compute used
as it is), then the model deployment on that compute (Azure ML SDK v1)."""

from __future__ import annotations

from typing import Any

import pulumi

from adopted_cluster import AdoptedCluster, AdoptedClusterArgs
from azure_base import AzureBase, cluster_exports
from deployment.targets import AzureTarget
from gpu_aks import GpuAksArgs
from service_deployment import declare_model_deployment
from v1.aks_attach import AksAttachArgs
from v1.gpu_cluster import GpuAksCluster, GpuAksClusterArgs


def declare_azure_target(base: AzureBase) -> dict[str, Any]:
    cfg, names, workspace = base.cfg, base.names, base.workspace
    attach = AksAttachArgs(
        resource_group_name=workspace.resource_group_name,
        workspace_location=workspace.location,
        workspace_name=workspace.workspace_name,
        compute_name=names.compute,
        cluster_purpose=cfg.cluster.purpose,
        load_balancer_type=cfg.cluster.load_balancer_type,
        ssl=cfg.cluster.ssl,
    )
    cluster: GpuAksCluster | AdoptedCluster
    if base.adopted_pool is not None:  # by compute name: used as it is; by cluster id: attached
        reuse = base.adopted_pool.compute_name is not None
        cluster = AdoptedCluster(
            "gpu", AdoptedClusterArgs(base.adopted_pool, None if reuse else attach), base.cluster_opts
        )
    else:
        aks = GpuAksArgs.for_stack(cfg.cluster, names, workspace.resource_group_name, cfg.location, cfg.tags)
        cluster = GpuAksCluster(
            "gpu",
            GpuAksClusterArgs(aks=aks, attach=attach, after=workspace.destroy_last),
            opts=base.cluster_opts,
        )
    target = AzureTarget(
        subscription_id=workspace.subscription_id,
        resource_group=workspace.resource_group_name,
        workspace_name=workspace.workspace_name,
        compute_name=cluster.compute_name,
    )
    deployment = declare_model_deployment(cfg, target, pulumi.ResourceOptions(depends_on=cluster.serving_on))
    return {**cluster_exports(cluster), **deployment}
