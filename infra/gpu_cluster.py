"""`GpuAksCluster`: an AKS cluster whose first node pool is the GPU pool, the NVIDIA device plugin
on it, and the Azure ML compute that attaches it to the workspace.

    GpuAksCluster (amlgpu:azure:GpuAksCluster)
        ├── ManagedCluster        system-assigned identity; agent pool 0 = the GPU pool
        ├── kubernetes Provider   from the cluster's admin kubeconfig (a secret)
        ├── DaemonSet             nvidia-device-plugin, depends on the cluster
        └── Compute               compute_type AKS, depends on the device plugin and the cluster

Azure ML SDK v1 deploys only to a cluster's FIRST node pool, so the GPU pool is that pool (and the
system pool). The dependencies are explicit so destroy detaches the compute first, then removes
the device plugin, then the cluster.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_kubernetes.apps.v1
from pulumi_azure_native import containerservice, machinelearningservices

from aliases import drop_api_version_aliases
from config import SslConfig

# Pinned: NVIDIA's device plugin, which advertises `nvidia.com/gpu` to the scheduler.
DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
GPU_POOL_NAME = "gpupool"  # Linux pool names: ≤ 12 lowercase letters and digits


@dataclass
class GpuAksClusterArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    cluster_name: str
    dns_prefix: str
    compute_name: str
    vm_size: str
    node_count: int
    cluster_purpose: str  # "DevTest" | "FastProd"
    load_balancer_type: str  # "PublicIp" | "InternalLoadBalancer"
    kubernetes_version: str | None = None
    ssl: SslConfig | None = None
    tags: pulumi.Input[dict[str, str]] = field(default_factory=dict)
    device_plugin_image: str = DEVICE_PLUGIN_IMAGE


class GpuAksCluster(pulumi.ComponentResource):
    """Outputs: `cluster_name`, `cluster_id`, `compute_name`, `kubeconfig` (secret)."""

    cluster_name: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    compute_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    compute: machinelearningservices.Compute

    def __init__(
        self, name: str, args: GpuAksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Children inherit the transformation (see aliases.py for why).
        own = pulumi.ResourceOptions(transformations=[drop_api_version_aliases])
        super().__init__("amlgpu:azure:GpuAksCluster", name, None, pulumi.ResourceOptions.merge(opts, own))

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
                )
            ],
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

        credentials = containerservice.list_managed_cluster_admin_credentials_output(
            resource_group_name=args.resource_group_name,
            resource_name=cluster.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.kubeconfig = pulumi.Output.secret(
            credentials.kubeconfigs.apply(lambda configs: base64.b64decode(configs[0].value).decode())
        )

        kubernetes = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
        )
        device_plugin = _device_plugin(
            f"{name}-nvidia-device-plugin", args.device_plugin_image, self, kubernetes, cluster
        )

        self.compute = machinelearningservices.Compute(
            f"{name}-compute",
            compute_name=args.compute_name,
            resource_group_name=args.resource_group_name,
            workspace_name=args.workspace_name,
            location=args.location,
            properties=machinelearningservices.AKSArgs(
                compute_type="AKS",
                resource_id=cluster.id,
                description=f"GPU AKS cluster {args.cluster_name} ({args.node_count} × {args.vm_size})",
                properties=machinelearningservices.AKSSchemaPropertiesArgs(
                    cluster_purpose=args.cluster_purpose,
                    load_balancer_type=args.load_balancer_type,
                    agent_count=args.node_count,
                    agent_vm_size=args.vm_size,
                    ssl_configuration=_ssl_configuration(args.ssl),
                ),
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster, device_plugin]),
        )

        self.cluster_name = cluster.name
        self.cluster_id = cluster.id
        self.compute_name = self.compute.name
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "cluster_id": self.cluster_id,
                "compute_name": self.compute_name,
                "kubeconfig": self.kubeconfig,
            }
        )


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


def _ssl_configuration(ssl: SslConfig | None) -> machinelearningservices.SslConfigurationArgs:
    if ssl is None:
        return machinelearningservices.SslConfigurationArgs(
            status=machinelearningservices.SslConfigStatus.DISABLED
        )
    if ssl.leaf_domain_label:
        return machinelearningservices.SslConfigurationArgs(
            status=machinelearningservices.SslConfigStatus.ENABLED,
            leaf_domain_label=ssl.leaf_domain_label,
            overwrite_existing_domain=ssl.overwrite_existing_domain,
        )
    assert ssl.certificate is not None and ssl.key is not None  # config.py guarantees the pair
    return machinelearningservices.SslConfigurationArgs(
        status=machinelearningservices.SslConfigStatus.ENABLED,
        cname=ssl.cname,
        cert=pulumi.Output.secret(ssl.certificate.reveal()),
        key=pulumi.Output.secret(ssl.key.reveal()),
    )
