"""TrafficDrainProvider: the dynamic provider of `TrafficDrain` (v2/traffic_drain.py).

Create and update send nothing; delete sets the endpoint's traffic to 0% (arm/traffic_drain.py). It
holds no state: the SDK pickles the class by reference to `deployment.drain_provider`, and
credentials are found per call, as the detach step's provider does.
"""

from __future__ import annotations

import os
from typing import Any

from deployment.arm.compute_detach import arm_headers
from deployment.arm.traffic_drain import drain_traffic
from deployment.provider import log_progress
from deployment.step_provider import DeleteStepProvider

REPLACE_ON = ("endpoint_id",)


class TrafficDrainProvider(DeleteStepProvider):
    id_key = "endpoint_id"
    replace_on = REPLACE_ON

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        endpoint_id = str(props["endpoint_id"])
        drained = drain_traffic(endpoint_id, arm_headers(os.environ), api_version=str(props["api_version"]))
        name = endpoint_id.rsplit("/", 1)[-1]
        log_progress(f"endpoint {name}: {'traffic set to 0%' if drained else 'no traffic to drain'}")
