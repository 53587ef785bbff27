"""`GpuAksCluster` (the v1 target): the GPU AKS cluster (gpu_aks.py) and its Azure ML attach
(aks_attach.py).

    GpuAksCluster (amlgpu:azure:GpuAksCluster)
        ├── ManagedCluster        system-assigned identity; agent pool 0 = the GPU pool
        ├── kubernetes Provider   from the cluster's admin kubeconfig (a secret, not exported)
        ├── DaemonSet             nvidia-device-plugin, depends on the cluster
        ├── Compute               compute_type AKS, depends on the device plugin and the cluster
        └── ComputeDetachment     detaches the Compute (and clears the v1 router) when it goes

The dependencies are explicit so destroy detaches the compute first, then removes the device
plugin, then the cluster, and only then what the cluster was declared `after` (the workspace).
The model deployment depends on `serving_on` (the attach and its detachment), so the service is
deleted before the detach.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import machinelearningservices

from aliases import drop_api_version_aliases
from compute_detachment import ComputeDetachment
from gpu_aks import GpuAksArgs, declare_gpu_aks
from v1.aks_attach import AksAttachArgs, declare_aks_attach


@dataclass
class GpuAksClusterArgs:
    aks: GpuAksArgs
    attach: AksAttachArgs
    after: list[pulumi.Resource] = field(default_factory=list)  # outlive the cluster on destroy


class GpuAksCluster(pulumi.ComponentResource):
    """Outputs: `cluster_name`, `cluster_id`, `compute_name`, `kubeconfig` (the user's, secret)."""

    cluster_name: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    compute_name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    compute: machinelearningservices.Compute
    detachment: ComputeDetachment

    def __init__(
        self, name: str, args: GpuAksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Children inherit the transformation (see aliases.py for why).
        own = pulumi.ResourceOptions(transformations=[drop_api_version_aliases])
        super().__init__("amlgpu:azure:GpuAksCluster", name, None, pulumi.ResourceOptions.merge(opts, own))

        aks = declare_gpu_aks(name, args.aks, parent=self, after=args.after)
        self.compute = declare_aks_attach(
            name, args.attach, aks.cluster.id, parent=self, depends_on=[aks.cluster, aks.device_plugin]
        )

        self.detachment = ComputeDetachment(
            f"{name}-compute-detach", self.compute, parent=self, legacy_router_kubeconfig=aks.admin_kubeconfig
        )

        self.kubeconfig = aks.kubeconfig
        self.cluster_name = aks.cluster.name
        self.cluster_id = aks.cluster.id
        self.compute_name = self.compute.name
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "cluster_id": self.cluster_id,
                "compute_name": self.compute_name,
                "kubeconfig": self.kubeconfig,
            }
        )

    @property
    def serving_on(self) -> list[pulumi.Resource]:
        """What a deployment on this cluster depends on: created after, deleted before."""
        return [self.compute, self.detachment]
