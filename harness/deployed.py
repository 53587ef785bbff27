"""A fake Azure that holds what an earlier evaluation of the program deployed, for second runs.

    first = run_program(config, stack="dev-v2")
    second = run_program(changed, stack="dev-v2", mocks=DeployedMocks(first))

The program reads Azure at preview (the live cluster's VM size, what the endpoint serves and the
spec tag of each colour, v2/rollout.py); `DeployedMocks` answers those reads with the state the
first run left once its `up` succeeded: its cluster's pools, each OnlineDeployment's tags, and
the endpoint serving the traffic of its last traffic step (or its own, where there is no step).
Everything else is AzureMocks' answer. Nothing here talks to Azure.
"""

from __future__ import annotations

from typing import Any

from harness.program import CLUSTER, ENDPOINT, AzureMocks, ProgramRun

DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
TRAFFIC_STEP = "azure-native:resources:Deployment"
ML = "azure-native:machinelearningservices"
NOT_FOUND = 'Status=404 Code="ResourceNotFound" (fake Azure: not deployed)'


def served_traffic(run: ProgramRun) -> dict[str, float]:
    """The traffic the endpoint serves after `run`'s up: its last traffic step's, else its own."""
    steps = run.of_type(TRAFFIC_STEP)
    if steps:
        (endpoint_put,) = steps[-1].inputs["properties"]["template"]["resources"]
        return dict(endpoint_put["properties"]["traffic"])
    endpoints = run.of_type(ENDPOINT)
    return dict(endpoints[0].inputs["properties"].get("traffic") or {}) if endpoints else {}


class DeployedMocks(AzureMocks):
    def __init__(self, deployed: ProgramRun) -> None:
        self.deployed = deployed

    def call(self, args):  # type: ignore[no-untyped-def]
        token = args.token
        if token == "azure-native:containerservice:getManagedCluster":
            for cluster in self.deployed.of_type(CLUSTER):
                if cluster.inputs.get("resourceName") == args.args["resourceName"]:
                    return {
                        "id": cluster.id,
                        "name": cluster.inputs["resourceName"],
                        **_pools(cluster.inputs),
                    }
            return {}, [("", NOT_FOUND)]
        if token == f"{ML}:getOnlineEndpoint":
            for endpoint in self.deployed.of_type(ENDPOINT):
                if endpoint.inputs["endpointName"] == args.args["endpointName"]:
                    properties = {**endpoint.inputs["properties"], "traffic": served_traffic(self.deployed)}
                    return {"name": endpoint.inputs["endpointName"], "properties": properties}
            return {}, [("", NOT_FOUND)]
        if token == f"{ML}:getOnlineDeployment":
            for deployment in self.deployed.of_type(DEPLOYMENT):
                if deployment.inputs["deploymentName"] == args.args["deploymentName"]:
                    name = deployment.inputs["deploymentName"]
                    return {"name": name, "tags": dict(deployment.inputs["tags"]), "properties": {}}
            return {}, [("", NOT_FOUND)]
        return super().call(args)


def _pools(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"agentPoolProfiles": [dict(profile) for profile in inputs.get("agentPoolProfiles", [])]}
