"""The Azure ML SDK v1 attach of an AKS cluster: a `machinelearningservices.Compute` of type AKS.

Only the v1 target needs it (`GpuAksCluster`); a v2 stack uses the cluster part alone (gpu_aks.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import containerservice, machinelearningservices

from config import SslConfig


@dataclass
class AksAttachArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    compute_name: str
    cluster_name: str
    vm_size: str
    node_count: int
    cluster_purpose: str  # "DevTest" | "FastProd"
    load_balancer_type: str  # "PublicIp" | "InternalLoadBalancer"
    ssl: SslConfig | None = None
    tags: pulumi.Input[dict[str, str]] = field(default_factory=dict)


def declare_aks_attach(
    name: str,
    args: AksAttachArgs,
    cluster: containerservice.ManagedCluster,
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource],
) -> machinelearningservices.Compute:
    """Attach `cluster` to the workspace as compute `args.compute_name`, a child of `parent`."""
    return machinelearningservices.Compute(
        f"{name}-compute",
        compute_name=args.compute_name,
        resource_group_name=args.resource_group_name,
        workspace_name=args.workspace_name,
        location=args.location,
        properties=machinelearningservices.AKSArgs(
            compute_type="AKS",
            resource_id=cluster.id,
            description=f"GPU AKS cluster {args.cluster_name} ({args.node_count} × {args.vm_size})",
            properties=machinelearningservices.AKSSchemaPropertiesArgs(
                cluster_purpose=args.cluster_purpose,
                load_balancer_type=args.load_balancer_type,
                agent_count=args.node_count,
                agent_vm_size=args.vm_size,
                ssl_configuration=_ssl_configuration(args.ssl),
            ),
        ),
        tags=args.tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[cluster, *depends_on]),
    )


def _ssl_configuration(ssl: SslConfig | None) -> machinelearningservices.SslConfigurationArgs:
    if ssl is None:
        return machinelearningservices.SslConfigurationArgs(
            status=machinelearningservices.SslConfigStatus.DISABLED
        )
    if ssl.leaf_domain_label:
        return machinelearningservices.SslConfigurationArgs(
            status=machinelearningservices.SslConfigStatus.ENABLED,
            leaf_domain_label=ssl.leaf_domain_label,
            overwrite_existing_domain=ssl.overwrite_existing_domain,
        )
    assert ssl.certificate is not None and ssl.key is not None  # config.py guarantees the pair
    return machinelearningservices.SslConfigurationArgs(
        status=machinelearningservices.SslConfigStatus.ENABLED,
        cname=ssl.cname,
        cert=pulumi.Output.secret(ssl.certificate.reveal()),
        key=pulumi.Output.secret(ssl.key.reveal()),
    )
