"""ComputeDetachmentProvider: the dynamic provider of `ComputeDetachment` (compute_detachment.py).

Create and update send nothing: the compute itself is azure-native's. Delete detaches it with
the query parameter azure-native omits, then (v1) clears the router the attach left
(deployment/arm/compute_detach.py). Like `ModelDeploymentProvider` it holds no state: the SDK
pickles the class by reference to `deployment.detach_provider`, and credentials are found per
call.
"""

from __future__ import annotations

import os
from typing import Any

from deployment.arm.compute_detach import DetachRequest, arm_headers, run_detach
from deployment.provider import log_progress
from deployment.step_provider import DeleteStepProvider

# A different compute (a replaced one has a new id only where its name changed) is a new
# detachment; the kubeconfig and api-version are updated in place, nothing is sent for them.
REPLACE_ON = ("compute_id",)
SECRET_INPUTS = ("legacy_router_kubeconfig",)


class ComputeDetachmentProvider(DeleteStepProvider):
    """Replaced when the compute's id changes or is not yet known (the compute itself is being
    replaced: then the engine deletes this first, which detaches the old compute before the new
    one is attached under the same name)."""

    id_key = "compute_id"
    replace_on = REPLACE_ON

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        request = DetachRequest.from_props(props)
        run_detach(request, arm_headers(os.environ), log_progress)
