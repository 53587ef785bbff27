"""The program: read the stack config, wire the components, export. Nothing else.

target azure: MlWorkspace → GpuAksCluster → ModelDeployment (Azure ML SDK v1 on the cluster).
cluster.existing (either Azure target): the adopted pool is read from Azure first (adopted_pool.py)
    and an AdoptedCluster (adopted_cluster.py) stands where the stack's own cluster would.
target azure-v2: MlWorkspace → v2/target.py (own GPU AKS, AzureML extension, Kubernetes compute,
    assets, online endpoint with a blue/green deployment; pulumi-azure-native resources only).
target local: ModelDeployment only (Azure ML's inference server on this machine); no Azure resource.
"""

from __future__ import annotations

import dataclasses
import os

import pulumi
import pulumi_azure_native as azure_native

from adopted_cluster import AdoptedCluster, AdoptedClusterArgs
from adopted_pool import AdoptedPool, AzureReads, check_adopted_fit, read_adopted_pool, with_adopted_pool
from aks_attach import AksAttachArgs
from capacity_report import capacity_lines
from config import load_stack_config
from config_pulumi import pulumi_config_source
from cost import describe, estimate_stack, price_book_from_environment, stack_output
from deployment.resource import ModelDeployment, ModelDeploymentArgs
from deployment.targets import AzureTarget, LocalTarget
from gpu_aks import GpuAksArgs
from gpu_cluster import GpuAksCluster, GpuAksClusterArgs
from naming import default_name_suffix, stack_names
from v2.adopted_compute import AdoptedCompute
from v2.kubernetes_compute import KubernetesCompute
from v2.target import declare_online_target
from workspace import MlWorkspace, MlWorkspaceArgs

values, secret_keys = pulumi_config_source()
cfg = load_stack_config(values, stack=pulumi.get_stack(), secret_keys=secret_keys)

deployment_opts: pulumi.ResourceOptions | None = None
adopted_pool: AdoptedPool | None = None
if cfg.target in ("azure", "azure-v2"):
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
    if cfg.cluster.existing is not None:
        # The adopted pool, read from Azure, takes the place of a configured one in every check.
        adopted_pool = read_adopted_pool(
            cfg,
            subscription,
            existing.resource_group if existing else names.resource_group,
            existing.name if existing else names.workspace,
            AzureReads(invoke_opts),
        )
        cfg = with_adopted_pool(cfg, adopted_pool)
        check_adopted_fit(values, cfg, adopted_pool)
    # Before any resource: GPUs per phase, surge nodes, the vCPU quota (checked with credentials).
    for level, line in capacity_lines(cfg, os.environ):
        (pulumi.log.warn if level == "warn" else pulumi.log.info)(line)
    # What the stack costs (docs/cost.md): a few lines in the engine's output, the hourly figure exported.
    estimate = estimate_stack(cfg, price_book_from_environment(os.environ))
    assert estimate is not None
    pulumi.log.info(describe(estimate))
    pulumi.export("cost_per_hour", stack_output(estimate))
    workspace = MlWorkspace(
        "ml",
        MlWorkspaceArgs(names=names, location=cfg.location, tags=cfg.tags, existing=cfg.existing_workspace),
        opts=cluster_opts,
    )
    pulumi.export("subscription_id", workspace.subscription_id)
    pulumi.export("resource_group", workspace.resource_group_name)
    pulumi.export("workspace_name", workspace.workspace_name)
    pulumi.export("workspace_id", workspace.workspace_id)
if cfg.target == "azure-v2":
    adopted = (
        None
        if adopted_pool is None
        else AdoptedCluster("gpu", AdoptedClusterArgs(adopted_pool), cluster_opts)
    )
    online = declare_online_target(cfg, names, workspace, cluster_opts, adopted)
    cluster: GpuAksCluster | AdoptedCluster | KubernetesCompute | AdoptedCompute = online.compute
elif cfg.target == "azure":
    attach = AksAttachArgs(
        resource_group_name=workspace.resource_group_name,
        workspace_location=workspace.location,
        workspace_name=workspace.workspace_name,
        compute_name=names.compute,
        cluster_purpose=cfg.cluster.purpose,
        load_balancer_type=cfg.cluster.load_balancer_type,
        ssl=cfg.cluster.ssl,
    )
    if adopted_pool is not None:  # by compute name: used as it is; by cluster id: attached
        reuse = adopted_pool.compute_name is not None
        cluster = AdoptedCluster(
            "gpu", AdoptedClusterArgs(adopted_pool, None if reuse else attach), cluster_opts
        )
    else:
        aks = GpuAksArgs.for_stack(cfg.cluster, names, workspace.resource_group_name, cfg.location, cfg.tags)
        cluster = GpuAksCluster(
            "gpu", GpuAksClusterArgs(aks=aks, attach=attach, after=workspace.destroy_last), opts=cluster_opts
        )
    target: AzureTarget | LocalTarget = AzureTarget(
        subscription_id=workspace.subscription_id,
        resource_group=workspace.resource_group_name,
        workspace_name=workspace.workspace_name,
        compute_name=cluster.compute_name,
    )
    deployment_opts = pulumi.ResourceOptions(depends_on=cluster.serving_on)
else:
    assert cfg.local_target is not None
    target = cfg.local_target
if cfg.target in ("azure", "azure-v2"):
    pulumi.export("cluster_name", cluster.cluster_name)
    pulumi.export("compute_name", cluster.compute_name)
    if cluster.kubeconfig is not None:  # not for an adopted cluster: not ours
        pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("target", cfg.target)
pulumi.export("service_name", cfg.service_name)

if cfg.target == "azure-v2":
    service = online.service
    pulumi.export("endpoint_name", online.endpoint_name)
    pulumi.export("live_colour", online.rollout.live or "")
    pulumi.export("serving_colour", online.rollout.target)
    pulumi.export("model_version", online.assets.versions.model)
    for output in ("scoring_uri", "swagger_uri", "primary_key", "secondary_key"):
        pulumi.export(output, getattr(service, output))  # the keys are secrets already
else:
    deployment = ModelDeployment(
        "model",
        ModelDeploymentArgs(
            service_name=cfg.service_name,
            target=target,
            settings=cfg.service,
            scoring=cfg.scoring,
            model_name=cfg.model_name,
            model_dir=str(cfg.model_dir),
            source_dir=str(cfg.source_dir),
            environment_file=str(cfg.environment_file),
            tags=cfg.tags,
        ),
        opts=deployment_opts,
    )
    for output in ("scoring_uri", "swagger_uri", "health_uri", "state", "model_id", "model_version"):
        pulumi.export(output, getattr(deployment, output))
if cfg.target == "azure":
    # Secret in the engine already (additional_secret_outputs); wrapped so no path exports them plain.
    pulumi.export("primary_key", pulumi.Output.secret(deployment.primary_key))
    pulumi.export("secondary_key", pulumi.Output.secret(deployment.secondary_key))
