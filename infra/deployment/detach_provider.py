"""ComputeDetachmentProvider: the dynamic provider of `ComputeDetachment` (compute_detachment.py).

Create and update send nothing: the compute itself is azure-native's. Delete detaches it with
the query parameter azure-native omits, then (v1) clears the router the attach left
(deployment/compute_detach.py). Like `ModelDeploymentProvider` it holds no state: the SDK
pickles the class by reference to `deployment.detach_provider`, and credentials are found per
call.
"""

from __future__ import annotations

import os
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from deployment.compute_detach import DetachRequest, arm_headers, run_detach
from deployment.provider import log_progress

# A different compute (a replaced one has a new id only where its name changed) is a new
# detachment; the kubeconfig and api-version are updated in place, nothing is sent for them.
REPLACE_ON = ("compute_id",)
SECRET_INPUTS = ("legacy_router_kubeconfig",)


class ComputeDetachmentProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props["compute_id"]), dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace when the compute's id changes or is not yet known (the compute itself is
        being replaced: then the engine deletes this first, which detaches the old compute
        before the new one is attached under the same name)."""
        keys = {k for k in set(olds) | set(news) if k != "__provider"}
        changed = sorted(k for k in keys if olds.get(k) != news.get(k))
        replaces = [k for k in changed if k in REPLACE_ON]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        request = DetachRequest.from_props(props)
        run_detach(request, arm_headers(os.environ), log_progress)
