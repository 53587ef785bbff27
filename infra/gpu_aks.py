"""The GPU AKS cluster part, shared by both Azure targets: an AKS cluster whose first node pool is
the GPU pool, the NVIDIA device plugin on it, and its kubeconfigs.

    declare_gpu_aks(name, args, parent)
        ├── ManagedCluster        system-assigned identity; agent pool 0 = the GPU pool
        ├── kubernetes Provider   from the cluster's admin kubeconfig (a secret, never exported)
        └── DaemonSet             nvidia-device-plugin, depends on the cluster
    `kubeconfig`                  the cluster USER kubeconfig (a secret), what a stack exports

A changed VM size of the first pool cannot be applied in place (AKS resizes no pool, and the
first pool is the system pool): the cluster is replaced, the old one deleted first since the
name stays. Preview shows that replace; the policy pack warns about it.

Azure ML SDK v1 deploys only to a cluster's FIRST node pool, so the GPU pool is that pool (and the
system pool). The children are declared under the caller's component (`parent`), so a v1 stack
(`GpuAksCluster`, which adds the Azure ML attach) and a v2 stack keep their own component.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_kubernetes.apps.v1
from pulumi_azure_native import containerservice

from config.types import ClusterConfig
from naming import StackNames

# Pinned: NVIDIA's device plugin, which advertises `nvidia.com/gpu` to the scheduler.
DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
GPU_POOL_NAME = "gpupool"  # Linux pool names: ≤ 12 lowercase letters and digits


@dataclass
class GpuAksArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    cluster_name: str
    dns_prefix: str
    vm_size: str
    node_count: int
    kubernetes_version: str | None = None
    upgrade_max_surge: int = 1  # nodes added while the pool upgrades (rules/capacity.py)
    tags: pulumi.Input[dict[str, str]] = field(default_factory=dict)
    device_plugin_image: str = DEVICE_PLUGIN_IMAGE

    @classmethod
    def for_stack(
        cls,
        cluster: ClusterConfig,
        names: StackNames,
        resource_group_name: pulumi.Input[str],
        location: pulumi.Input[str],
        tags: pulumi.Input[dict[str, str]],
    ) -> GpuAksArgs:
        """A stack's GPU cluster: its names and its `cluster` config section."""
        return cls(
            resource_group_name=resource_group_name,
            location=location,
            cluster_name=names.cluster,
            dns_prefix=names.dns_prefix,
            vm_size=cluster.vm_size,
            node_count=cluster.node_count,
            kubernetes_version=cluster.kubernetes_version,
            upgrade_max_surge=cluster.upgrade_max_surge,
            tags=tags,
        )


@dataclass(frozen=True)
class GpuAks:
    """What `declare_gpu_aks` declared; `kubeconfig` is the user kubeconfig (a secret): the admin
    one stays inside the Kubernetes provider's (secret) config."""

    cluster: containerservice.ManagedCluster
    kubernetes: k8s.Provider
    device_plugin: k8s.apps.v1.DaemonSet
    kubeconfig: pulumi.Output[str]
    admin_kubeconfig: pulumi.Output[str]  # secret; for the v1 detach's router cleanup only


def declare_gpu_aks(
    name: str, args: GpuAksArgs, parent: pulumi.Resource, after: Sequence[pulumi.Resource] = ()
) -> GpuAks:
    """Declare the cluster, its Kubernetes provider and the device plugin as children of
    `parent`. The cluster waits for `after` on create and is deleted before it on destroy."""
    cluster = containerservice.ManagedCluster(
        f"{name}-aks",
        resource_name_=args.cluster_name,
        resource_group_name=args.resource_group_name,
        location=args.location,
        dns_prefix=args.dns_prefix,
        kubernetes_version=args.kubernetes_version,
        enable_rbac=True,
        identity=containerservice.ManagedClusterIdentityArgs(
            type=containerservice.ResourceIdentityType.SYSTEM_ASSIGNED
        ),
        agent_pool_profiles=[
            containerservice.ManagedClusterAgentPoolProfileArgs(
                name=GPU_POOL_NAME,
                mode=containerservice.AgentPoolMode.SYSTEM,
                vm_size=args.vm_size,
                count=args.node_count,
                os_type=containerservice.OSType.LINUX,
                type=containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
                # Set, not left to AKS's default (1 or 10% by API version): the capacity plan and
                # the vCPU quota it asks for count exactly these nodes.
                upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(
                    max_surge=str(args.upgrade_max_surge)
                ),
            )
        ],
        tags=args.tags,
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(after),
            replace_on_changes=["agentPoolProfiles[*].vmSize"],
            delete_before_replace=True,
        ),
    )
    admin_kubeconfig = read_admin_kubeconfig(args.resource_group_name, cluster.name, parent)
    kubernetes = k8s.Provider(
        f"{name}-k8s",
        kubeconfig=admin_kubeconfig,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[cluster]),
    )
    device_plugin = _device_plugin(
        f"{name}-nvidia-device-plugin", args.device_plugin_image, parent, kubernetes, cluster
    )
    # Exported instead of the admin one: `az aks get-credentials --admin` gives admin access.
    user = containerservice.list_managed_cluster_user_credentials_output(
        resource_group_name=args.resource_group_name,
        resource_name=cluster.name,
        opts=pulumi.InvokeOutputOptions(parent=parent),
    )
    user_kubeconfig = pulumi.Output.secret(user.kubeconfigs.apply(first_kubeconfig))
    return GpuAks(
        cluster=cluster,
        kubernetes=kubernetes,
        device_plugin=device_plugin,
        kubeconfig=user_kubeconfig,
        admin_kubeconfig=admin_kubeconfig,
    )


def read_admin_kubeconfig(
    resource_group_name: pulumi.Input[str], cluster_name: pulumi.Input[str], parent: pulumi.Resource
) -> pulumi.Output[str]:
    """The cluster's admin kubeconfig (a secret), for what the stack declares on the cluster."""
    credentials = containerservice.list_managed_cluster_admin_credentials_output(
        resource_group_name=resource_group_name,
        resource_name=cluster_name,
        opts=pulumi.InvokeOutputOptions(parent=parent),
    )
    return pulumi.Output.secret(credentials.kubeconfigs.apply(first_kubeconfig))


def first_kubeconfig(configs: list) -> str:
    """The kubeconfig text of a listManagedCluster*Credentials answer."""
    return base64.b64decode(configs[0].value).decode()


def _device_plugin(
    name: str,
    image: str,
    parent: pulumi.Resource,
    kubernetes: k8s.Provider,
    cluster: containerservice.ManagedCluster,
) -> k8s.apps.v1.DaemonSet:
    # Plain dicts rather than k8s.core.v1/meta.v1 Args classes: importing those packages costs
    # about a second of every preview, for type hints only.
    labels = {"name": "nvidia-device-plugin-ds"}
    plugin_dir = "/var/lib/kubelet/device-plugins"
    container = {
        "name": "nvidia-device-plugin-ctr",
        "image": image,
        "env": [{"name": "FAIL_ON_INIT_ERROR", "value": "false"}],
        "security_context": {"allow_privilege_escalation": False, "capabilities": {"drop": ["ALL"]}},
        "volume_mounts": [{"name": "device-plugin", "mount_path": plugin_dir}],
    }
    return k8s.apps.v1.DaemonSet(
        name,
        metadata={"name": "nvidia-device-plugin-daemonset", "namespace": "kube-system"},
        spec={
            "selector": {"match_labels": labels},
            "update_strategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priority_class_name": "system-node-critical",
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    "containers": [container],
                    "volumes": [{"name": "device-plugin", "host_path": {"path": plugin_dir}}],
                },
            },
        },
        opts=pulumi.ResourceOptions(parent=parent, provider=kubernetes, depends_on=[cluster]),
    )
