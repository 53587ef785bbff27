"""`ComputeDetachment`: the step that detaches an Azure ML compute when the stack drops it.

Every compute the program attaches (v1 AKS in v1/aks_attach.py, v2 Kubernetes in
v2/kubernetes_compute.py) is declared `retain_on_delete`, because azure-native's DELETE omits
the query parameter the service requires (deployment/arm/compute_detach.py says which and why), and
gets one of these, which depends on it. So the engine deletes this first, on destroy and when the
compute is replaced (its id is an input: a replaced compute makes it unknown, so this is
replaced, and deleted, before the compute is attached again), and its delete detaches.
Whatever is served on the compute depends on this, so it is gone before the detach.
"""

from __future__ import annotations

import pulumi
import pulumi.dynamic
from pulumi_azure_native import machinelearningservices

from deployment.arm.compute_detach import COMPUTE_API_VERSION
from deployment.detach_provider import SECRET_INPUTS, ComputeDetachmentProvider


class ComputeDetachment(pulumi.dynamic.Resource, module="amlgpu", name="ComputeDetachment"):
    compute_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        compute: machinelearningservices.Compute,
        parent: pulumi.Resource,
        legacy_router_kubeconfig: pulumi.Input[str] | None = None,
    ) -> None:
        props = {
            "compute_id": compute.id,
            "api_version": COMPUTE_API_VERSION,
            "legacy_router_kubeconfig": (
                pulumi.Output.secret(legacy_router_kubeconfig)
                if legacy_router_kubeconfig is not None
                else None
            ),
        }
        super().__init__(
            ComputeDetachmentProvider(),
            name,
            props,
            pulumi.ResourceOptions(
                parent=parent, depends_on=[compute], additional_secret_outputs=list(SECRET_INPUTS)
            ),
        )
