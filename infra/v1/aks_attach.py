"""The Azure ML SDK v1 attach of an AKS cluster: a `machinelearningservices.Compute` of type AKS.

Only the v1 target needs it (`GpuAksCluster`); a v2 stack uses the cluster part alone (gpu_aks.py).

It sends what azureml-core's own attach sends (`AksCompute._build_attach_payload` and
`ComputeTarget._attach`): the workspace's location, the cluster's resource id, the cluster
purpose, the load balancer type and the TLS settings; no description, agent count, VM size or
tags. The service does not update an attach in place, and none of those routine values (node
count, tags) may cause a second PUT: so the attach changes only when what it sends changes, and
then it is replaced, the old one deleted first because the name stays.

Replaced only on what it sends (`properties.*` are all ours; the outputs a refresh brings back,
such as `properties.properties.agentCount` or `provisioningState`, are not inputs, so a refresh
never turns into a replace). Its DELETE is not azure-native's (which omits the required
`underlyingResourceAction`): the attach is `retain_on_delete` and the `ComputeDetachment` the
cluster component declares beside it detaches it (compute_detachment.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices

from config import SslConfig

# Exactly the inputs the attach sends (what azureml-core's attach payload holds).
ATTACH_REPLACE_ON = [
    "location",
    "properties.computeType",
    "properties.resourceId",
    "properties.properties.clusterPurpose",
    "properties.properties.loadBalancerType",
    "properties.properties.sslConfiguration",
]
# Inputs the attach never sends that Azure reports back: a refresh copies changed outputs into
# the inputs (azure-native's Read), and without this the next `up` would PUT them away again.
ATTACH_REFRESHED_ONLY = [
    "properties.computeLocation",
    "properties.description",
    "properties.disableLocalAuth",
    "properties.properties.agentCount",
    "properties.properties.agentVmSize",
    "properties.properties.aksNetworkingConfiguration",
    "properties.properties.clusterFqdn",
    "properties.properties.loadBalancerSubnet",
]


@dataclass
class AksAttachArgs:
    resource_group_name: pulumi.Input[str]
    workspace_location: pulumi.Input[str]  # the workspace's region, as azureml-core sends it
    workspace_name: pulumi.Input[str]
    compute_name: str
    cluster_purpose: str  # "DevTest" | "FastProd"
    load_balancer_type: str  # "PublicIp" | "InternalLoadBalancer"
    ssl: SslConfig | None = None


def declare_aks_attach(
    name: str,
    args: AksAttachArgs,
    cluster_id: pulumi.Input[str],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> machinelearningservices.Compute:
    """Attach the AKS cluster `cluster_id` (the stack's own, or an adopted one) to the workspace
    as compute `args.compute_name`, a child of `parent`, after `depends_on` (the stack's cluster)."""
    return machinelearningservices.Compute(
        f"{name}-compute",
        compute_name=args.compute_name,
        resource_group_name=args.resource_group_name,
        workspace_name=args.workspace_name,
        location=args.workspace_location,
        properties=machinelearningservices.AKSArgs(
            compute_type="AKS",
            resource_id=cluster_id,
            properties=machinelearningservices.AKSSchemaPropertiesArgs(
                cluster_purpose=args.cluster_purpose,
                load_balancer_type=args.load_balancer_type,
                ssl_configuration=_ssl_configuration(args.ssl),
            ),
        ),
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            replace_on_changes=ATTACH_REPLACE_ON,
            ignore_changes=ATTACH_REFRESHED_ONLY,
            delete_before_replace=True,
            retain_on_delete=True,  # ComputeDetachment detaches it
        ),
    )


def _ssl_configuration(ssl: SslConfig | None) -> machinelearningservices.SslConfigurationArgs | None:
    """As azureml-core's attach: nothing without TLS, status "Auto" for a Microsoft certificate
    on a leaf domain label, "Enabled" for the user's own certificate and key."""
    if ssl is None:
        return None
    if ssl.leaf_domain_label:
        return machinelearningservices.SslConfigurationArgs(
            status=machinelearningservices.SslConfigStatus.AUTO,
            leaf_domain_label=ssl.leaf_domain_label,
            overwrite_existing_domain=ssl.overwrite_existing_domain,
        )
    assert ssl.certificate is not None and ssl.key is not None  # config/cluster.py guarantees the pair
    return machinelearningservices.SslConfigurationArgs(
        status=machinelearningservices.SslConfigStatus.ENABLED,
        cname=ssl.cname,
        cert=pulumi.Output.secret(ssl.certificate.reveal()),
        key=pulumi.Output.secret(ssl.key.reveal()),
    )
