"""`TrafficDrain`: the step that sets the endpoint's traffic to 0% before destroy deletes its
deployments (deployment/arm/traffic_drain.py says why and what it sends).

It depends on the endpoint's deployment and traffic steps, so the engine deletes it first: on
destroy, and when the endpoint is replaced (its id is an input). Nothing happens on create or
update; a blue/green rollout's old colour is deleted only after the traffic moved off it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi.dynamic
from pulumi_azure_native import machinelearningservices as ml

from deployment.drain_provider import TrafficDrainProvider


class TrafficDrain(pulumi.dynamic.Resource, module="amlgpu", name="TrafficDrain"):
    endpoint_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        endpoint: ml.OnlineEndpoint,
        api_version: str,
        after: Sequence[pulumi.Resource],
        parent: pulumi.Resource,
    ) -> None:
        super().__init__(
            TrafficDrainProvider(),
            name,
            {"endpoint_id": endpoint.id, "api_version": api_version},
            pulumi.ResourceOptions(parent=parent, depends_on=[endpoint, *after]),
        )
