"""The azure-v2 target wired from the stack config: cluster and compute, assets, the rollout plan
read from what the endpoint serves now, and the online service. `__main__.py` calls
`declare_azure_v2_target` and exports what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from adopted_cluster import AdoptedCluster, AdoptedClusterArgs
from azure_base import AzureBase, cluster_exports
from config import StackConfig
from deployment.azure_common.environment import server_variables
from gpu_aks import GPU_POOL_NAME, GpuAksArgs
from naming import StackNames
from v2.adopted_compute import AdoptedCompute
from v2.assets import ModelAssets, ModelAssetsArgs
from v2.kubernetes_compute import KubernetesCompute, KubernetesComputeArgs, instance_type_spec
from v2.online_endpoint import DeploymentSettings, OnlineService, OnlineServiceArgs
from v2.rollout import Rollout, plan_rollout, read_live_state
from workspace import MlWorkspace

NAMESPACE = "amlgpu-online"  # where the deployments' pods run
AUTH_MODES = {"key": "Key", "token": "AMLToken"}  # config's service auth → the endpoint's authMode
ENDPOINT_NAME_LIMIT = 32  # 3–32 letters, digits and dashes, unique within the Azure region


def endpoint_name(service_name: str, suffix: str) -> str:
    """`<service name>-<stack suffix>`: endpoint names are unique per region, not per workspace."""
    stem = service_name[: ENDPOINT_NAME_LIMIT - len(suffix) - 1].rstrip("-")
    return f"{stem}-{suffix}"


@dataclass(frozen=True)
class OnlineTarget:
    compute: KubernetesCompute | AdoptedCompute
    assets: ModelAssets
    service: OnlineService
    rollout: Rollout
    endpoint_name: str


def declare_online_target(
    cfg: StackConfig,
    names: StackNames,
    workspace: MlWorkspace,
    opts: pulumi.ResourceOptions | None = None,
    adopted: AdoptedCluster | None = None,
) -> OnlineTarget:
    """`adopted`: the cluster of `cluster.existing` (then no cluster is declared; with an adopted
    compute, no extension or compute either: only the instance type on its cluster)."""
    assert cfg.online is not None  # config/stack.py sets it for target azure-v2
    tags = cfg.tags
    service = cfg.service
    pool_name = adopted.pool.pool_name if adopted is not None else GPU_POOL_NAME
    instance_type = instance_type_spec(service.cpu_cores, service.memory_gb, service.gpu_cores, pool_name)
    compute: KubernetesCompute | AdoptedCompute
    if adopted is not None and adopted.pool.compute_name is not None:
        compute = AdoptedCompute("gpu", adopted, instance_type)
    else:
        compute = KubernetesCompute(
            "gpu",
            KubernetesComputeArgs(
                resource_group_name=workspace.resource_group_name,
                workspace_name=workspace.workspace_name,
                location=adopted.pool.location if adopted is not None else cfg.location,
                workspace_location=workspace.location,
                cluster=adopted
                if adopted is not None
                else GpuAksArgs.for_stack(
                    cfg.cluster, names, workspace.resource_group_name, cfg.location, tags
                ),
                after=workspace.destroy_last,
                compute_name=names.compute,
                namespace=NAMESPACE,
                instance_type=instance_type,
                cluster_purpose=cfg.cluster.purpose,
                internal_load_balancer=cfg.cluster.load_balancer_type == "InternalLoadBalancer",
                ssl=cfg.cluster.ssl,
                tags=tags,
            ),
            # Under the adopted cluster's component: the policy pack's marker (adopted_cluster.py).
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=adopted))
            if adopted
            else opts,
        )
    assets = ModelAssets(
        "assets",
        ModelAssetsArgs(
            subscription_id=workspace.subscription_id,
            resource_group_name=workspace.resource_group_name,
            workspace_name=workspace.workspace_name,
            model_name=cfg.model_name,
            code_name=f"{cfg.service_name}-code",
            environment_name=f"{cfg.service_name}-env",
            model_dir=cfg.model_dir,
            source_dir=cfg.source_dir,
            environment_file=cfg.environment_file,
        ),
        opts=opts,
    )
    settings = DeploymentSettings(
        instance_type=compute.instance_type,
        replicas=service.replicas,
        request_timeout_ms=service.scoring_timeout_ms,
        max_concurrent_requests=service.concurrent_requests,
        environment_variables=server_variables(service, cfg.scoring),
    )
    spec = assets.versions.spec(settings.spec_fields())
    assert cfg.name_suffix is not None  # __main__.py sets the default before the targets are wired
    endpoint = endpoint_name(cfg.service_name, cfg.name_suffix)
    # Plain names, known before anything exists, so the read works in the first preview too.
    existing = cfg.existing_workspace
    resource_group = existing.resource_group if existing else names.resource_group
    workspace_name = existing.name if existing else names.workspace
    rollout = plan_rollout(
        read_live_state(resource_group, workspace_name, endpoint),
        spec,
        cfg.online.traffic_steps,
        cfg.online.strategy,
    )
    online = OnlineService(
        "online",
        OnlineServiceArgs(
            resource_group_name=workspace.resource_group_name,
            workspace_name=workspace.workspace_name,
            location=workspace.location,
            endpoint_name=endpoint,
            auth_mode=AUTH_MODES[service.auth],
            compute_id=compute.compute_id,
            model_id=assets.model_id,
            code_id=assets.code_id,
            environment_id=assets.environment_id,
            settings=settings,
            spec=spec,
            rollout=rollout,
            tags=tags,
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=compute.serving_on)),
    )
    return OnlineTarget(compute, assets, online, rollout, endpoint)


def declare_azure_v2_target(base: AzureBase) -> dict[str, Any]:
    """The azure-v2 target on the `AzureBase`, and what it exports (the keys are secrets already)."""
    pool = base.adopted_pool
    adopted = None if pool is None else AdoptedCluster("gpu", AdoptedClusterArgs(pool), base.cluster_opts)
    online = declare_online_target(base.cfg, base.names, base.workspace, base.cluster_opts, adopted)
    service = online.service
    return {
        **cluster_exports(online.compute),
        "endpoint_name": online.endpoint_name,
        "live_colour": online.rollout.live or "",
        "serving_colour": online.rollout.target,
        "model_version": online.assets.versions.model,
        **{
            output: getattr(service, output)
            for output in ("scoring_uri", "swagger_uri", "primary_key", "secondary_key")
        },
    }
