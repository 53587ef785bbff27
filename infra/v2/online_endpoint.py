"""`OnlineService`: the online endpoint, the deployment of the colour that serves after this run,
the traffic moves to it, and the endpoint's keys.

    OnlineService (amlgpu:azure:OnlineService)
        ├── OnlineEndpoint         authMode Key or AMLToken on the Kubernetes compute; its own
        │                          `traffic` is what serves when the run starts (never a
        │                          deployment still to come, so no cycle)
        ├── OnlineDeployment       `blue` or `green` (rollout.py decides), depends on the endpoint
        └── Deployment × steps     ARM template deployments, one per traffic step, in order, after
                                   the OnlineDeployment is healthy: each PUTs the endpoint with
                                   its traffic map (a deployment record; deleting it deletes nothing)

The endpoint's `traffic` names deployments that need the endpoint first: the traffic this run
moves to would be a cycle on the endpoint. So the endpoint is created without traffic, the
deployment after it, and the traffic after the deployment. But a PUT of an endpoint without
`traffic` resets every share to 0% (microsoft/genaiops-promptflow-template#182), so whenever the
endpoint itself is PUT (a tag or auth change) it carries the traffic that serves at the start of
the run, as read from Azure (rollout.py), never a stale copy from state: after a rollout, the
next run's preview shows the endpoint's `traffic` catching up with what the steps applied.

A colour that no longer serves is simply not declared: Pulumi deletes removed resources last,
after every create and update, so the old deployment goes only after the traffic left it; a
failed new deployment stops the run before any traffic moves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native import machinelearningservices as ml
from pulumi_azure_native import resources

from aliases import drop_api_version_aliases
from v2.assets import SCORING_SCRIPT
from v2.rollout import SPEC_TAG, Rollout
from v2.traffic_drain import TrafficDrain

ENDPOINT_API_VERSION = "2025-12-01"  # the one pulumi-azure-native 3.24 uses for OnlineEndpoint
ENDPOINT_DESCRIPTION = "MNIST DNN on GPU (Kubernetes online endpoint)"
ARM_TEMPLATE_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"


@dataclass(frozen=True)
class DeploymentSettings:
    """What one deployment runs with, beside its assets (all in the spec hash but `replicas`,
    which scales the live deployment in place)."""

    instance_type: str
    replicas: int
    request_timeout_ms: int
    max_concurrent_requests: int
    # The server's variables: the entry script's settings and its workers
    # (deployment/azure_common/environment.py).
    environment_variables: Mapping[str, str] = field(default_factory=dict)
    # Liveness restarts a container, so it waits out the slowest start (TensorFlow's import, the
    # SavedModel load, the warm-up) and then tolerates 5 minutes of failures.
    probe_initial_delay_s: int = 120
    probe_period_s: int = 10
    probe_timeout_s: int = 5
    probe_failure_threshold: int = 30
    # Readiness only decides whether a replica gets requests: asked early and often, so a replica
    # that has loaded serves within seconds instead of after liveness's 120 s delay.
    readiness_initial_delay_s: int = 10
    readiness_period_s: int = 5
    readiness_failure_threshold: int = 3

    def spec_fields(self) -> dict[str, Any]:
        return {
            "instance_type": self.instance_type,
            "request_timeout_ms": self.request_timeout_ms,
            "max_concurrent_requests": self.max_concurrent_requests,
            "environment_variables": dict(sorted(self.environment_variables.items())),
            "probe": [
                self.probe_initial_delay_s,
                self.probe_period_s,
                self.probe_timeout_s,
                self.probe_failure_threshold,
            ],
            "readiness": [
                self.readiness_initial_delay_s,
                self.readiness_period_s,
                self.probe_timeout_s,
                self.readiness_failure_threshold,
            ],
        }


@dataclass
class OnlineServiceArgs:
    resource_group_name: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    location: pulumi.Input[str]  # the workspace's region
    endpoint_name: str
    auth_mode: str  # "Key" | "AMLToken"
    compute_id: pulumi.Input[str]
    model_id: pulumi.Input[str]
    code_id: pulumi.Input[str]
    environment_id: pulumi.Input[str]
    settings: DeploymentSettings
    spec: str  # the content hash of assets and settings: tagged on the deployment (rollout.SPEC_TAG)
    rollout: Rollout
    tags: dict[str, str] = field(default_factory=dict)


class OnlineService(pulumi.ComponentResource):
    """Outputs: `scoring_uri`, `swagger_uri`, `primary_key` and `secondary_key` (secrets; empty
    with AMLToken auth, where callers ask Azure ML for a token instead)."""

    scoring_uri: pulumi.Output[str]
    swagger_uri: pulumi.Output[str]
    primary_key: pulumi.Output[str]
    secondary_key: pulumi.Output[str]

    def __init__(
        self, name: str, args: OnlineServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        own = pulumi.ResourceOptions(transformations=[drop_api_version_aliases])
        super().__init__("amlgpu:azure:OnlineService", name, None, pulumi.ResourceOptions.merge(opts, own))
        rollout = args.rollout
        pulumi.log.info(f"online endpoint {args.endpoint_name}: {rollout.describe()}", resource=self)
        common = {"resource_group_name": args.resource_group_name, "workspace_name": args.workspace_name}
        identity = ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED)

        endpoint = ml.OnlineEndpoint(
            f"{name}-endpoint",
            endpoint_name=args.endpoint_name,
            location=args.location,
            identity=identity,
            properties=ml.OnlineEndpointPropertiesArgs(
                auth_mode=args.auth_mode,
                compute=args.compute_id,
                description=ENDPOINT_DESCRIPTION,
                traffic=dict(rollout.serving) or None,
            ),
            tags=args.tags,
            **common,
            # On a new compute (a vmSize change replaces the cluster and the compute with it) the
            # endpoint is replaced too, delete first: its name is unique in the region.
            opts=pulumi.ResourceOptions(
                parent=self, replace_on_changes=["properties.compute"], delete_before_replace=True
            ),
        )
        deployment = _deployment(name, args, endpoint, common, self)
        last_step = _traffic_steps(name, args, endpoint, deployment, self)
        # Deleted before the deployment and the steps: destroy drains the traffic first.
        self.drain = TrafficDrain(
            f"{name}-traffic-drain",
            endpoint,
            ENDPOINT_API_VERSION,
            after=[deployment, last_step],
            parent=self,
        )

        if args.auth_mode == "Key":
            keys = ml.list_online_endpoint_keys_output(
                endpoint_name=endpoint.name, **common, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            primary, secondary = keys.primary_key, keys.secondary_key
        else:  # an AMLToken endpoint has no keys to list
            primary = secondary = pulumi.Output.from_input(None)
        self.primary_key = pulumi.Output.secret(primary.apply(lambda key: key or ""))
        self.secondary_key = pulumi.Output.secret(secondary.apply(lambda key: key or ""))
        self.scoring_uri = endpoint.properties.apply(lambda props: props.scoring_uri or "")
        self.swagger_uri = endpoint.properties.apply(lambda props: props.swagger_uri or "")
        self.register_outputs(
            {
                "scoring_uri": self.scoring_uri,
                "swagger_uri": self.swagger_uri,
                "primary_key": self.primary_key,
                "secondary_key": self.secondary_key,
            }
        )


def _deployment(
    name: str,
    args: OnlineServiceArgs,
    endpoint: ml.OnlineEndpoint,
    common: Mapping[str, Any],
    parent: pulumi.Resource,
) -> ml.OnlineDeployment:
    settings = args.settings
    liveness = ml.ProbeSettingsArgs(
        initial_delay=f"PT{settings.probe_initial_delay_s}S",
        period=f"PT{settings.probe_period_s}S",
        timeout=f"PT{settings.probe_timeout_s}S",
        failure_threshold=settings.probe_failure_threshold,
        success_threshold=1,
    )
    readiness = ml.ProbeSettingsArgs(
        initial_delay=f"PT{settings.readiness_initial_delay_s}S",
        period=f"PT{settings.readiness_period_s}S",
        timeout=f"PT{settings.probe_timeout_s}S",
        failure_threshold=settings.readiness_failure_threshold,
        success_threshold=1,
    )
    colour = args.rollout.target
    return ml.OnlineDeployment(
        f"{name}-{colour}",
        deployment_name=colour,
        endpoint_name=endpoint.name,
        location=args.location,
        # Kubernetes deployments take their replica count from the sku, as the v2 SDK sends it.
        sku=ml.SkuArgs(name="Default", capacity=settings.replicas),
        properties=ml.KubernetesOnlineDeploymentArgs(
            endpoint_compute_type="Kubernetes",
            model=args.model_id,
            code_configuration=ml.CodeConfigurationArgs(code_id=args.code_id, scoring_script=SCORING_SCRIPT),
            environment_id=args.environment_id,
            environment_variables=dict(settings.environment_variables),
            # Always set: omitted, the SDK would send Standard_F4s_v2, which this cluster doesn't have.
            instance_type=settings.instance_type,
            # Default = exactly `replicas`; without it a Kubernetes deployment autoscales.
            scale_settings=ml.DefaultScaleSettingsArgs(scale_type="Default"),
            request_settings=ml.OnlineRequestSettingsArgs(
                request_timeout=_iso_seconds(settings.request_timeout_ms),
                max_concurrent_requests_per_instance=settings.max_concurrent_requests,
            ),
            liveness_probe=liveness,
            readiness_probe=readiness,
            description=f"spec {args.spec}",
        ),
        tags={**args.tags, SPEC_TAG: args.spec},
        **common,
        # A PUT of a live deployment may roll its pods, and a rolling pod needs a GPU to spare:
        # the stack's own tags (an expires-on bump) are sent on create and with a real change,
        # never alone. The spec tag is not ignored: the rollout reads it (v2/rollout.py).
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[endpoint], ignore_changes=stack_tag_paths(args.tags)
        ),
    )


def stack_tag_paths(tags: Mapping[str, str]) -> list[str]:
    """The property paths of the stack's tags on a resource (`tags["expires-on"]`)."""
    return [f"tags[{json.dumps(name)}]" for name in sorted(tags) if name != SPEC_TAG]


def _iso_seconds(milliseconds: int) -> str:
    seconds = milliseconds / 1000
    return f"PT{int(seconds)}S" if seconds.is_integer() else f"PT{seconds:.3f}S"


def traffic_template(
    *,
    workspace: str,
    endpoint: str,
    location: str,
    auth_mode: str,
    compute_id: str,
    tags: Mapping[str, str],
    traffic: Mapping[str, int],
) -> dict[str, Any]:
    """An ARM template that PUTs the endpoint with `traffic` (the endpoint's own properties repeated:
    a PUT replaces the whole resource)."""
    return {
        "$schema": ARM_TEMPLATE_SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
                "apiVersion": ENDPOINT_API_VERSION,
                "name": f"{workspace}/{endpoint}",
                "location": location,
                "tags": dict(tags),
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "authMode": auth_mode,
                    "compute": compute_id,
                    "description": ENDPOINT_DESCRIPTION,
                    "traffic": dict(traffic),
                },
            }
        ],
    }


def _traffic_steps(
    name: str,
    args: OnlineServiceArgs,
    endpoint: ml.OnlineEndpoint,
    deployment: ml.OnlineDeployment,
    parent: pulumi.Resource,
) -> pulumi.Resource:
    """One ARM deployment per step, each after the previous; the last is returned. The last step
    (all traffic to the target) is always declared. The intermediate ones are declared for every configured
    percentage, so an unchanged stack previews as no change: outside a rollout they keep what
    they last applied (ignore_changes) and apply nothing new."""
    rollout = args.rollout
    previous: pulumi.Resource = deployment
    for percent in rollout.steps:
        last = percent == rollout.steps[-1]

        def template_at(values: list[Any], percent: int = percent) -> dict[str, Any]:
            return traffic_template(
                workspace=values[0],
                endpoint=values[1],
                location=values[3],
                auth_mode=args.auth_mode,
                compute_id=values[2],
                tags=args.tags,
                traffic=rollout.traffic_at(percent),
            )

        template = pulumi.Output.all(
            args.workspace_name, endpoint.name, args.compute_id, args.location
        ).apply(template_at)
        suffix = "" if last else f"-{percent}"
        previous = resources.Deployment(
            f"{name}-traffic{suffix}",
            deployment_name=f"{args.endpoint_name}-traffic{suffix}",
            resource_group_name=args.resource_group_name,
            properties=resources.DeploymentPropertiesArgs(
                mode=resources.DeploymentMode.INCREMENTAL, template=template
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=parent,
                depends_on=[previous],
                ignore_changes=[] if last or rollout.rolling else ["properties"],
            ),
        )
    return previous
