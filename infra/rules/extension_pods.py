"""What the AzureML extension's own pods request on an inference-only cluster (azure-v2).

The figures are Microsoft's table "Recommended resource planning" in "Reference for configuring
Kubernetes cluster for Azure Machine Learning" (learn.microsoft.com/azure/machine-learning/
reference-kubernetes), the CPU and memory *requests* (the scheduler places pods by requests, not
limits), of the rows an install with enableInference=True and enableTraining=False runs:
installVolcano=False drops Volcano's three pods, which only training uses. The router
(azureml-fe-v2) runs 3 replicas with inferenceRouterHA and 1 without; the identity sidecar is
added to every pod of an online deployment, so it is counted with each replica.

AKS's own kube-system pods (CoreDNS, kube-proxy, the CSI drivers...) are not in the table and are
not counted: Microsoft publishes no figure for them, so the plan says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCE = "Microsoft's Azure ML Kubernetes reference, 'Recommended resource planning'"
# Below three nodes the router can't spread its HA replicas (the CLI turns HA off there too).
ROUTER_HA_MIN_NODES = 3
ROUTER_REPLICAS_HA = 3


@dataclass(frozen=True)
class PodRequest:
    name: str
    cpu_m: int  # millicores
    memory_mi: int
    gpus: int = 0


# One replica each, cluster-wide.
CLUSTER_PODS = (
    PodRequest("metrics-controller-manager", 10, 20),
    PodRequest("prometheus-operator", 100, 128),
    PodRequest("prometheus", 100, 512),
    PodRequest("kube-state-metrics", 10, 32),
    PodRequest("gateway", 50, 256),
    PodRequest("inference-operator-controller-manager", 100, 128),
    PodRequest("amlarc-identity-controller", 200, 200),
    PodRequest("amlarc-identity-proxy", 200, 200),
    PodRequest("azureml-ingress-nginx-controller", 100, 64),
    PodRequest("aml-operator", 20, 124),
)
ROUTER_POD = PodRequest("azureml-fe-v2", 900, 800)
PER_NODE_POD = PodRequest("fluent-bit", 10, 100)  # a DaemonSet: one on every node
REPLICA_SIDECAR = PodRequest("identity-sidecar", 10, 100)  # in every online-deployment pod


def router_ha(cluster_nodes: int) -> bool:
    """inferenceRouterHA as the program sets it (v2/kubernetes_compute.py) for a cluster's size."""
    return cluster_nodes >= ROUTER_HA_MIN_NODES


def extension_pods(cluster_nodes: int) -> tuple[PodRequest, ...]:
    """The cluster-wide pods (not the per-node DaemonSet), the router's replicas included."""
    routers = ROUTER_REPLICAS_HA if router_ha(cluster_nodes) else 1
    return (*CLUSTER_PODS, *([ROUTER_POD] * routers))


def replica_pod(cpu_cores: float, memory_gb: float, gpus: int) -> PodRequest:
    """One online-deployment pod: the instance type's requests plus the identity sidecar."""
    return PodRequest(
        "replica",
        round(cpu_cores * 1000) + REPLICA_SIDECAR.cpu_m,
        round(memory_gb * 1024) + REPLICA_SIDECAR.memory_mi,
        gpus,
    )
