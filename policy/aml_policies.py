"""The pack's policies, as pure checks over camelCase property bags plus their Policy wrappers.

- `gpu-vm-size-allowlist` (per resource): every AKS node pool runs a current GPU size, and the
  FIRST pool (the one Azure ML SDK v1 deploys to) is one.
- `required-tags` (per resource): every taggable Azure resource (but the attached computes, v1
  AKS and v2 Kubernetes, which send none because Azure can't update them) carries `owner` and
  an `expires-on` the cost guard can read (rules/tags.py: a date, or a timestamp with an offset).
- `aml-compute-attaches-stack-cluster` (stack): an AKS (v1) or Kubernetes (v2) compute points at
  a managed cluster declared in the same stack (same resource group and name), and depends on it;
  or, declared under an `amlgpu:azure:AdoptedCluster` component (the program's marker for a
  cluster the stack adopted and does not declare, infra/adopted_cluster.py), at a managed cluster.
- `online-endpoint-auth-mode` (per resource): an Azure ML online endpoint authenticates callers
  with a key or an Azure ML token (`Key`, `AMLToken`), never anonymously.
- `model-service-auth` (per resource): the v1 model service (`ModelDeployment`, every target)
  authenticates callers with a key or a token, never anonymously: a stack config that turns
  auth off is refused before it reaches a cluster.

The GPU sizes, the required tags and the `expires-on` language are the program's own rules:
`policy/rules` is a symlink to `infra/rules/` (stdlib only), so the pack and the stack config
cannot disagree, and `pulumi policy publish` archives the files the link points at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from rules.gpu_sizes import GPU_SIZES
from rules.tags import EXPIRES_ON_ALLOWED, EXPIRES_TAG, REQUIRED_TAGS, ExpiryError, parse_expires_on
from rules.values import AKS_CLUSTER_ID_PATTERN

ALLOWED_GPU_VM_SIZES: tuple[str, ...] = tuple(GPU_SIZES)
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
AGENT_POOL = "azure-native:containerservice:AgentPool"
COMPUTE = "azure-native:machinelearningservices:Compute"
ONLINE_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ALLOWED_AUTH_MODES = ("Key", "AMLToken")
ATTACHED_COMPUTE_TYPES = ("AKS", "Kubernetes")
TAGGED_TYPES = frozenset(
    {
        "azure-native:resources:ResourceGroup",
        "azure-native:storage:StorageAccount",
        "azure-native:keyvault:Vault",
        "azure-native:operationalinsights:Workspace",
        "azure-native:applicationinsights:Component",
        "azure-native:containerregistry:Registry",
        "azure-native:machinelearningservices:Workspace",
        MANAGED_CLUSTER,
        COMPUTE,
        ONLINE_ENDPOINT,
        ONLINE_DEPLOYMENT,
        "azure-native:resources:Deployment",  # the v2 traffic steps
    }
)
_CLUSTER_ID = re.compile(AKS_CLUSTER_ID_PATTERN, re.IGNORECASE)
# The program's component for a cluster it adopted (infra/adopted_cluster.py ADOPTED_CLUSTER_TYPE).
ADOPTED_CLUSTER_TYPE = "amlgpu:azure:AdoptedCluster"


# --- pure checks ----------------------------------------------------------------------------------


def gpu_vm_size_violations(resource_type: str, props: Mapping[str, Any], allowed: Iterable[str]) -> list[str]:
    allowed_lower = {size.lower() for size in allowed}
    shown = ", ".join(allowed)
    if resource_type == AGENT_POOL:
        size = props.get("vmSize")
        if size is not None and str(size).lower() not in allowed_lower:
            return [f"agent pool vmSize {size!r} is not an allowed GPU size; allowed: {shown}"]
        return []
    if resource_type != MANAGED_CLUSTER:
        return []
    pools: Sequence[Mapping[str, Any]] = props.get("agentPoolProfiles") or []
    if not pools:
        return ["the cluster has no agent pool: Azure ML deploys to the first pool, which must be a GPU pool"]
    violations = []
    for index, pool in enumerate(pools):
        size = pool.get("vmSize")
        if size is None or str(size).lower() not in allowed_lower:
            which = "the first pool (the one Azure ML deploys to)" if index == 0 else f"pool {index}"
            violations.append(
                f"agentPoolProfiles[{index}] ({pool.get('name')}): vmSize {size!r} of {which} "
                f"is not an allowed GPU size; allowed: {shown}"
            )
    return violations


def missing_tag_violations(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    if resource_type not in TAGGED_TYPES or _is_attached_compute(resource_type, props):
        return []
    tags = props.get("tags") or {}
    violations = []
    for name in REQUIRED_TAGS:
        value = tags.get(name)
        if not isinstance(value, str) or not value.strip():
            violations.append(f"tag {name!r} is missing; required tags: {', '.join(REQUIRED_TAGS)}")
    expires = tags.get(EXPIRES_TAG)
    if isinstance(expires, str) and expires.strip():
        try:
            parse_expires_on(expires)
        except ExpiryError as e:
            violations.append(f"tag {EXPIRES_TAG!r} = {e}")
    return violations


def _is_attached_compute(resource_type: str, props: Mapping[str, Any]) -> bool:
    """An attached compute (v1 AKS, v2 Kubernetes) sends no tags: Azure refuses to update an
    attached compute (Azure/azureml-examples#3030), so a tag change must not PUT it again
    (infra/v1/aks_attach.py, infra/v2/kubernetes_compute.py). The cluster carries the tags and the bill."""
    properties = props.get("properties") or {}
    return resource_type == COMPUTE and properties.get("computeType") in ATTACHED_COMPUTE_TYPES


def compute_attach_violations(
    resources: Sequence[tuple[str, str, Mapping[str, Any], Sequence[str], Sequence[str]]],
) -> list[tuple[str, str]]:
    """`resources`: (type, urn, props, URNs it depends on, its ancestors' types). Returns
    (message, urn) pairs."""
    # A cluster's state has its `name`; `resourceGroupName` is an input that outputs may lack,
    # so the group is compared only where it is known.
    clusters = [
        (
            str(props.get("name") or props.get("resourceName") or "").lower(),
            props.get("resourceGroupName"),
            urn,
        )
        for type_, urn, props, _deps, _ancestors in resources
        if type_ == MANAGED_CLUSTER
    ]
    violations = []
    for type_, urn, props, depends_on, ancestors in resources:
        properties = props.get("properties") or {}
        if type_ != COMPUTE or properties.get("computeType") not in ATTACHED_COMPUTE_TYPES:
            continue
        resource_id = str(properties.get("resourceId") or "")
        match = _CLUSTER_ID.fullmatch(resource_id)
        if not match:
            violations.append((f"resourceId {resource_id!r} is not a managed cluster's resource id", urn))
            continue
        if ADOPTED_CLUSTER_TYPE in ancestors:
            continue  # the stack adopted the cluster: it is not declared, by design
        cluster_urn = next(
            (
                cluster_urn
                for name, group, cluster_urn in clusters
                if name == match["name"].lower()
                and (group is None or str(group).lower() == match["group"].lower())
            ),
            None,
        )
        if cluster_urn is None:
            violations.append(
                (
                    f"resourceId points at managed cluster {match['name']!r} in resource group "
                    f"{match['group']!r}, which this stack does not declare",
                    urn,
                )
            )
        elif cluster_urn not in depends_on:
            violations.append((f"the compute attach does not depend on its cluster {cluster_urn}", urn))
    return violations


def auth_mode_violations(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    if resource_type != ONLINE_ENDPOINT:
        return []
    mode = (props.get("properties") or {}).get("authMode")
    if mode in ALLOWED_AUTH_MODES:
        return []
    return [f"online endpoint authMode {mode!r} is not allowed; allowed: {', '.join(ALLOWED_AUTH_MODES)}"]


MODEL_DEPLOYMENT = "pulumi-python:dynamic/amlgpu:ModelDeployment"
MODEL_SERVICE_AUTH_MODES = ("key", "token")


def model_service_auth_violations(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    if resource_type != MODEL_DEPLOYMENT:
        return []
    auth = (props.get("settings") or {}).get("auth")
    if auth in MODEL_SERVICE_AUTH_MODES:
        return []
    return [
        f"model service {props.get('service_name')!r}: settings.auth {auth!r} is not allowed; "
        f"allowed: {', '.join(MODEL_SERVICE_AUTH_MODES)} (stack config: service.authEnabled, "
        "service.tokenAuthEnabled)"
    ]


# --- Policy wrappers ------------------------------------------------------------------------------


def _validate_gpu_sizes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = args.get_config().get("allowedVmSizes") or ALLOWED_GPU_VM_SIZES
    for message in gpu_vm_size_violations(args.resource_type, args.props, allowed):
        report(message, None)


def _validate_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for message in missing_tag_violations(args.resource_type, args.props):
        report(message, None)


def _validate_auth_mode(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for message in auth_mode_violations(args.resource_type, args.props):
        report(message, None)


def _validate_model_service_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for message in model_service_auth_violations(args.resource_type, args.props):
        report(message, None)


def _validate_compute_attach(args: StackValidationArgs, report: ReportViolation) -> None:
    resources = []
    for resource in args.resources:
        depends_on = {dependency.urn for dependency in resource.dependencies}
        for dependencies in resource.property_dependencies.values():
            depends_on.update(dependency.urn for dependency in dependencies)
        ancestors = []
        parent = resource.parent
        while parent is not None:
            ancestors.append(parent.resource_type)
            parent = parent.parent
        resources.append(
            (resource.resource_type, resource.urn, resource.props, sorted(depends_on), ancestors)
        )
    for message, urn in compute_attach_violations(resources):
        report(message, urn)


gpu_vm_size_allowlist = ResourceValidationPolicy(
    name="gpu-vm-size-allowlist",
    description="AKS node pools run a current GPU VM size from the allowlist; the first pool is a GPU pool.",
    validate=_validate_gpu_sizes,
    config_schema=PolicyConfigSchema(
        properties={"allowedVmSizes": {"type": "array", "items": {"type": "string"}}},
    ),
)
required_tags = ResourceValidationPolicy(
    name="required-tags",
    description="Azure resources carry an owner tag and an expires-on tag: " + EXPIRES_ON_ALLOWED + ".",
    validate=_validate_tags,
)
online_endpoint_auth_mode = ResourceValidationPolicy(
    name="online-endpoint-auth-mode",
    description="Azure ML online endpoints authenticate callers with a key or an Azure ML token.",
    validate=_validate_auth_mode,
)
model_service_auth = ResourceValidationPolicy(
    name="model-service-auth",
    description="The model service authenticates callers with a key or a token (settings.auth).",
    validate=_validate_model_service_auth,
)
compute_attaches_stack_cluster = StackValidationPolicy(
    name="aml-compute-attaches-stack-cluster",
    description="An Azure ML AKS compute attach points at a managed cluster of the same stack.",
    validate=_validate_compute_attach,
)

POLICIES = [
    gpu_vm_size_allowlist,
    required_tags,
    online_endpoint_auth_mode,
    model_service_auth,
    compute_attaches_stack_cluster,
]
