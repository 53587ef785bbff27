"""What Azure ML's service refuses or does that its REST definitions don't say: one cited table,
each rule with a check over what `pulumi up` would do between two runs (harness/change_plan.py).

    for rule in SERVICE_RULES:
        assert rule.violations(change_plan(first, second)) == [], rule.name

The REST definitions (harness/rest_definitions.py) check bodies and query parameters; these
rules are the service's behaviour behind them. `status` says how sure the source is: "documented"
(Microsoft's docs or a maintainer's answer), "reported" (users' reports that no one contradicts),
or "assumed" (inferred; the program is built so that either answer is safe).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.change_plan import ASSET_VERSION_TYPES, ChangePlan, plain
from harness.deployed import DEPLOYMENT, served_traffic
from harness.program import COMPUTE, DETACHMENT_TYPE, ENDPOINT, TRAFFIC_DRAIN_TYPE, Registration

MODEL_VERSION = "azure-native:machinelearningservices:ModelVersion"
SPEC_TAG_PATH = 'tags["amlgpu-spec"]'  # v2/rollout.py's SPEC_TAG on each OnlineDeployment


@dataclass(frozen=True)
class ServiceRule:
    name: str
    rule: str
    source: str
    status: str  # documented | reported | assumed
    check: Callable[[ChangePlan], list[str]]

    def violations(self, plan: ChangePlan) -> list[str]:
        return self.check(plan)


def _model_versions_are_integers(plan: ChangePlan) -> list[str]:
    found = []
    for model in plan.after.of_type(MODEL_VERSION):
        version = str(model.inputs.get("version"))
        if not (version.isdigit() and int(version) >= 1):
            found.append(f"{model.name}: version {version!r} is not a positive integer")
    return found


def _asset_versions_are_never_updated(plan: ChangePlan) -> list[str]:
    return [
        f"{_name(urn)}: an existing version would be PUT again ({', '.join(plan.changed[urn])})"
        for urn, op in plan.ops.items()
        if op == "update" and _type(urn) in ASSET_VERSION_TYPES
    ]


def _computes_are_never_updated(plan: ChangePlan) -> list[str]:
    return [
        f"{_name(urn)}: an attached compute would be PUT again ({', '.join(plan.changed[urn])})"
        for urn, op in plan.ops.items()
        if op == "update" and _type(urn) == COMPUTE
    ]


def _endpoint_puts_carry_the_serving_traffic(plan: ChangePlan) -> list[str]:
    serving = served_traffic(plan.before)
    found = []
    for endpoint in plan.after.of_type(ENDPOINT):
        op = plan.ops[endpoint.urn]
        sent = dict(endpoint.inputs["properties"].get("traffic") or {})
        if op == "update" and sent != serving:
            found.append(f"{endpoint.name}: PUT with traffic {sent}, but {serving} serves")
        if op == "replace" and sent:
            found.append(
                f"{endpoint.name}: replaced, delete first, and created again with traffic {sent} "
                "for deployments replaced with it"
            )
    return found


def _live_deployments_are_put_only_for_a_new_spec(plan: ChangePlan) -> list[str]:
    return [
        f"{_name(urn)}: PUT for {', '.join(plan.changed[urn])} alone, which may roll its pods"
        for urn, op in plan.ops.items()
        if op == "update" and _type(urn) == DEPLOYMENT and SPEC_TAG_PATH not in plan.changed[urn]
    ]


def _v1_attaches_clean_up_azureml_fe(plan: ChangePlan) -> list[str]:
    found = []
    for compute in plan.after.of_type(COMPUTE):
        if (
            compute.inputs["properties"].get("computeType") != "AKS"
            or "resourceId" not in compute.inputs["properties"]
        ):
            continue
        steps = [d for d in plan.after.of_type(DETACHMENT_TYPE) if _unwrapped(d, "compute_id") == compute.id]
        if not steps or not any(_unwrapped(d, "legacy_router_kubeconfig") for d in steps):
            found.append(f"{compute.name}: no detach step that removes azureml-fe's resources")
    return found


def _deployments_are_drained_before_deletion(plan: ChangePlan) -> list[str]:
    run = plan.after
    drains = run.of_type(TRAFFIC_DRAIN_TYPE)
    return [
        f"{deployment.name}: no traffic drain is deleted before it"
        for deployment in run.of_type(DEPLOYMENT)
        if not any(run.depends_transitively(drain, deployment) for drain in drains)
    ]


SERVICE_RULES: tuple[ServiceRule, ...] = (
    ServiceRule(
        "model-version-integer",
        "a workspace model version is a positive integer (code and environment versions may be any string)",
        "Microsoft's model YAML reference (`version`: int); Azure/azureml-examples#2725",
        "documented",
        _model_versions_are_integers,
    ),
    ServiceRule(
        "asset-version-immutable",
        "a code, model or environment version can't be changed once created: a change is a new version",
        "Azure/azure-cli-extensions#5440",
        "reported",
        _asset_versions_are_never_updated,
    ),
    ServiceRule(
        "attached-compute-not-updatable",
        "an attached compute (Kubernetes or v1 AKS) can't be updated: a real change replaces it",
        "Azure/azureml-examples#3030",
        "reported",
        _computes_are_never_updated,
    ),
    ServiceRule(
        "endpoint-put-resets-traffic",
        "an online endpoint PUT without `traffic` sets every deployment's share to 0%",
        "microsoft/genaiops-promptflow-template#182 (managed and Kubernetes endpoints)",
        "reported",
        _endpoint_puts_carry_the_serving_traffic,
    ),
    ServiceRule(
        "deployment-put-may-roll-pods",
        "a PUT of a live online deployment may roll its pods, which on a full pool then wait for GPUs",
        "inferred from Azure ML's rolling update (maxSurge 1, Azure/azure-cli#18272)",
        "assumed",
        _live_deployments_are_put_only_for_a_new_spec,
    ),
    ServiceRule(
        "reattach-needs-azureml-fe-cleanup",
        "a cluster attached by SDK v1 can be attached again only after azureml-fe's resources are deleted",
        "MicrosoftDocs/azure-docs#86416; the R SDK's attach_aks_compute docs (detach first)",
        "documented",
        _v1_attaches_clean_up_azureml_fe,
    ),
    ServiceRule(
        "deployment-delete-with-traffic",
        "whether deleting a deployment that still has traffic is refused is not documented: drain first",
        "no source found (docs, issues, azure-ai-ml's begin_delete); destroy is built not to depend on it",
        "assumed",
        _deployments_are_drained_before_deletion,
    ),
)


def _type(urn: str) -> str:
    return urn.split("::")[2].split("$")[-1]


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _unwrapped(registration: Registration, key: str) -> object:
    return plain(registration.inputs.get(key))
