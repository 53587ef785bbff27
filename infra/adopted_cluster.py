"""`AdoptedCluster`: an AKS cluster (or compute) this stack deploys onto but does not own.

It declares no cluster and no adopted compute: its children are only what the stack adds, so
`pulumi destroy` removes those and leaves the cluster alone.

    AdoptedCluster (amlgpu:azure:AdoptedCluster)
        v1, by cluster id:   Compute (the AKS attach, aks_attach.py) + ComputeDetachment
        v1, by compute name: nothing (the deployment goes to the adopted compute)
        v2:                  what v2/target.py declares under it (KubernetesCompute on the
                             cluster, or the instance type on an adopted compute's cluster)
    `kubernetes()`           a Kubernetes provider from the cluster's admin credentials, made
                             on first use (only what the stack adds on the cluster needs it)

The component's type is the policy pack's marker: an attach under it points at a cluster the
stack adopted, so the pack doesn't ask for that cluster to be declared (policy/aml_policies.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from adopted_pool import AdoptedPool
from aliases import drop_api_version_aliases
from compute_detachment import ComputeDetachment
from gpu_aks import read_admin_kubeconfig
from v1.aks_attach import AksAttachArgs, declare_aks_attach

ADOPTED_CLUSTER_TYPE = "amlgpu:azure:AdoptedCluster"


@dataclass
class AdoptedClusterArgs:
    pool: AdoptedPool
    attach: AksAttachArgs | None = None  # v1 by cluster id: the attach this stack adds


class AdoptedCluster(pulumi.ComponentResource):
    """Outputs: `cluster_name`, `cluster_id`, `compute_name`; `serving_on` for what deploys onto it."""

    cluster_name: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    compute_name: pulumi.Output[str]
    serving_on: list[pulumi.Resource]
    kubeconfig = None  # not this stack's cluster: its credentials are its owner's to give

    def __init__(
        self, name: str, args: AdoptedClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        own = pulumi.ResourceOptions(transformations=[drop_api_version_aliases])
        super().__init__(ADOPTED_CLUSTER_TYPE, name, None, pulumi.ResourceOptions.merge(opts, own))
        self._name = name
        self.pool = args.pool
        self._kubernetes: k8s.Provider | None = None
        self.cluster_name = pulumi.Output.from_input(args.pool.cluster_name)
        self.cluster_id = pulumi.Output.from_input(args.pool.cluster_id)
        self.serving_on = []
        if args.attach is not None:
            compute = declare_aks_attach(name, args.attach, args.pool.cluster_id, parent=self)
            # The attach installed azureml-fe on the cluster: the detach clears it
            # (deployment/arm/compute_detach.py).
            detachment = ComputeDetachment(
                f"{name}-compute-detach",
                compute,
                parent=self,
                legacy_router_kubeconfig=self.admin_kubeconfig(),
            )
            self.compute_name = compute.name
            self.serving_on = [compute, detachment]
        else:
            self.compute_name = pulumi.Output.from_input(args.pool.compute_name or "")
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "cluster_id": self.cluster_id,
                "compute_name": self.compute_name,
            }
        )

    def admin_kubeconfig(self) -> pulumi.Output[str]:
        return read_admin_kubeconfig(self.pool.resource_group, self.pool.cluster_name, self)

    def kubernetes(self) -> k8s.Provider:
        """The provider for what the stack declares on the adopted cluster (one per component)."""
        if self._kubernetes is None:
            self._kubernetes = k8s.Provider(
                f"{self._name}-k8s",
                kubeconfig=self.admin_kubeconfig(),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return self._kubernetes
