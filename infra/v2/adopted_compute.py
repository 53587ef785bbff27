"""`AdoptedCompute`: an existing Kubernetes compute of the workspace (`cluster.existing.computeName`
on azure-v2), used as it is, with the one thing the stack adds on its cluster: the GPU instance
type the deployments name (node selector and resources of one replica), in the compute's own
namespace. Destroy deletes that instance type and leaves the compute, its extension and the
cluster alone. It offers what `KubernetesCompute` offers to v2/target.py.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from adopted_cluster import AdoptedCluster
from v2.kubernetes_compute import INSTANCE_TYPE_API, InstanceTypeSpec


class AdoptedCompute:
    """`compute_id`, `compute_name`, `instance_type`, `cluster_name`, `cluster_id`, `serving_on`."""

    kubeconfig = None  # not this stack's cluster

    def __init__(self, name: str, cluster: AdoptedCluster, instance_type: InstanceTypeSpec) -> None:
        pool = cluster.pool
        assert pool.compute_id is not None and pool.compute_name is not None
        declared = k8s.apiextensions.CustomResource(
            f"{name}-instance-type",
            api_version=INSTANCE_TYPE_API,
            kind="InstanceType",
            metadata={"name": instance_type.name},
            spec=instance_type.manifest_spec(),
            opts=pulumi.ResourceOptions(parent=cluster, provider=cluster.kubernetes()),
        )
        self.compute_id = pulumi.Output.from_input(pool.compute_id)
        self.compute_name = pulumi.Output.from_input(pool.compute_name)
        self.cluster_name = cluster.cluster_name
        self.cluster_id = cluster.cluster_id
        self.instance_type = instance_type.name
        self.serving_on: list[pulumi.Resource] = [declared]
