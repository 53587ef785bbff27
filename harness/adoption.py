"""A fake Azure with a cluster and a compute to adopt (`cluster.existing`), for the program's tests.

`AdoptingMocks` is harness.program's `AzureMocks` plus an existing AKS cluster `aks-team`
(`getManagedCluster`, with the pools a test gives) and an existing compute `team-gpu` of an
adopted workspace (`getCompute`, of the type a test gives); anything else is "not found", as
Azure answers. `adopting()` turns a stack file's config into one that adopts. Nothing here
talks to Azure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.program import FAKE_SUBSCRIPTION, AzureMocks, stack_config

NS = "aml-gpu-inference"
SUBSCRIPTION = FAKE_SUBSCRIPTION  # the cluster is in the fake client config's subscription
CLUSTER_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-platform"
    "/providers/Microsoft.ContainerService/managedClusters/aks-team"
)
EXISTING_WORKSPACE = {"subscriptionId": SUBSCRIPTION, "resourceGroup": "rg-ml", "name": "mlw-team"}
ADOPTED_TYPE = "amlgpu:azure:AdoptedCluster"

T4_POOL = {"name": "gpu", "vmSize": "Standard_NC4as_T4_v3", "count": 3, "upgradeSettings": {"maxSurge": "1"}}
CPU_POOL = {"name": "system", "vmSize": "Standard_D4s_v5", "count": 2}


class AdoptingMocks(AzureMocks):
    """An existing cluster `aks-team` with `pools`, and a compute `team-gpu` of `compute_type`."""

    def __init__(self, pools: list[dict[str, Any]] | None = None, compute_type: str = "AKS") -> None:
        self.pools = [T4_POOL] if pools is None else pools
        self.compute_type = compute_type
        self.reads: list[str] = []

    def call(self, args):  # type: ignore[no-untyped-def]
        token = args.token
        if token == "azure-native:containerservice:getManagedCluster":
            self.reads.append(f"cluster {args.args['resourceGroupName']}/{args.args['resourceName']}")
            if args.args["resourceName"] != "aks-team":
                return {}, [("", 'Status=404 Code="ResourceNotFound" (fake Azure: no such cluster)')]
            return {
                "id": CLUSTER_ID,
                "name": "aks-team",
                "location": "westeurope",
                "agentPoolProfiles": self.pools,
            }
        if token == "azure-native:machinelearningservices:getCompute":
            self.reads.append(f"compute {args.args['workspaceName']}/{args.args['computeName']}")
            if args.args["computeName"] != "team-gpu":
                return {}, [("", 'Status=404 Code="ResourceNotFound" (fake Azure: no such compute)')]
            workspace = (
                f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ml"
                "/providers/Microsoft.MachineLearningServices/workspaces/mlw-team"
            )
            return {
                "id": f"{workspace}/computes/team-gpu",
                "name": "team-gpu",
                "properties": {
                    "computeType": self.compute_type,
                    "provisioningState": "Succeeded",
                    "resourceId": CLUSTER_ID,
                    "properties": {"namespace": "team-online"},
                },
            }
        return super().call(args)


def adopting(model_dir: Path, existing: dict[str, Any], stack: str = "dev", **top: Any) -> dict[str, Any]:
    """The stack file with its own pool replaced by `cluster.existing`."""
    config = stack_config(stack)
    config[f"{NS}:model"] = {"name": "mnist-dnn", "dir": str(model_dir)}
    cluster = {k: v for k, v in config[f"{NS}:cluster"].items() if k not in ("vmSize", "nodeCount")}
    if "computeName" in existing:
        cluster = {}
        config[f"{NS}:workspace"] = {"existing": EXISTING_WORKSPACE}
    config[f"{NS}:cluster"] = {**cluster, "existing": existing}
    config.update({f"{NS}:{key}": value for key, value in top.items()})
    return config
