"""The service rules (harness/service_rules.py): each rule's check catches what it is about, on a
stack at rest with one thing broken; and `pulumi refresh` (Azure's GET answers copied into the
state, harness/change_plan.refreshed) is followed by no replace and no stale traffic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from harness.change_plan import change_plan, refreshed
from harness.deployed import DeployedMocks
from harness.program import (
    COMPUTE,
    DETACHMENT_TYPE,
    ENDPOINT,
    TRAFFIC_DRAIN_TYPE,
    ProgramRun,
    run_program,
)
from harness.service_rules import SERVICE_RULES, ServiceRule
from harness.two_runs import SHORT_TYPE, Baseline, config, write_model

# --- each rule's check can fail -----------------------------------------------------------------------


def _rule(name: str) -> ServiceRule:
    return next(rule for rule in SERVICE_RULES if rule.name == name)


def _edit(
    run: ProgramRun, type_: str, edit: Callable[[dict[str, Any]], dict[str, Any]], **options: Any
) -> ProgramRun:
    registrations = [
        replace(r, inputs=edit(dict(r.inputs)), **options) if r.type == type_ else r
        for r in run.registrations
    ]
    return replace(run, registrations=registrations)


@pytest.fixture(scope="module")
def v2_at_rest(v2: Baseline) -> ProgramRun:
    return v2.at_rest


def test_the_model_version_rule_catches_a_hex_version(v2_at_rest: ProgramRun):
    hexed = _edit(v2_at_rest, SHORT_TYPE["ModelVersion"], lambda i: {**i, "version": "3f9a0c41d2e5b677"})
    assert _rule("model-version-integer").violations(change_plan(v2_at_rest, hexed))


def test_the_immutable_version_rule_catches_a_tag_on_an_existing_version(v2_at_rest: ProgramRun):
    tagged = _edit(
        v2_at_rest, SHORT_TYPE["EnvironmentVersion"], lambda i: {**i, "tags": {"expires-on": "2027-01-31"}}
    )
    assert _rule("asset-version-immutable").violations(change_plan(v2_at_rest, tagged))


def test_the_compute_rule_catches_tags_on_the_compute(v2_at_rest: ProgramRun):
    # What the v2 compute sent before it sent no tags: an expires-on bump PUT it again.
    tagged = _edit(v2_at_rest, COMPUTE, lambda i: {**i, "tags": {"expires-on": "2027-01-31"}})
    assert _rule("attached-compute-not-updatable").violations(change_plan(v2_at_rest, tagged))


def test_the_traffic_rule_catches_an_endpoint_put_without_traffic(v2_at_rest: ProgramRun):
    def without_traffic(inputs: dict[str, Any]) -> dict[str, Any]:
        properties = {k: v for k, v in inputs["properties"].items() if k != "traffic"}
        return {**inputs, "properties": {**properties, "authMode": "AMLToken"}}

    assert _rule("endpoint-put-resets-traffic").violations(
        change_plan(v2_at_rest, _edit(v2_at_rest, ENDPOINT, without_traffic))
    )


def test_the_rollout_rule_catches_a_deployment_put_for_stack_tags_alone(v2_at_rest: ProgramRun):
    deployment = SHORT_TYPE["OnlineDeployment"]
    before = _edit(v2_at_rest, deployment, lambda i: i, ignore_changes=())  # as before item 7's fix
    bumped = _edit(before, deployment, lambda i: {**i, "tags": {**i["tags"], "expires-on": "2027-01-31"}})
    assert _rule("deployment-put-may-roll-pods").violations(change_plan(before, bumped))


def test_the_reattach_rule_catches_a_v1_attach_without_the_azureml_fe_cleanup(tmp_path: Path):
    run = run_program(config("dev", write_model(tmp_path / "m", "graph")), stack="dev")
    assert _rule("reattach-needs-azureml-fe-cleanup").violations(change_plan(run, run)) == []
    bare = _edit(run, DETACHMENT_TYPE, lambda i: {**i, "legacy_router_kubeconfig": None})
    assert _rule("reattach-needs-azureml-fe-cleanup").violations(change_plan(run, bare))


def test_the_drain_rule_catches_a_deployment_without_a_drain(v2_at_rest: ProgramRun):
    undrained = replace(
        v2_at_rest, registrations=[r for r in v2_at_rest.registrations if r.type != TRAFFIC_DRAIN_TYPE]
    )
    assert _rule("deployment-delete-with-traffic").violations(change_plan(v2_at_rest, undrained))


def test_every_rule_cites_a_source_and_says_how_sure_it_is():
    assert len({rule.name for rule in SERVICE_RULES}) == len(SERVICE_RULES)
    for rule in SERVICE_RULES:
        assert rule.source and rule.status in {"documented", "reported", "assumed"}, rule.name


# --- refresh ---------------------------------------------------------------------------------------------


# The input properties of Azure's GET answers, shaped as the REST spec's examples at 2025-12-01
# (examples/Compute/get/KubernetesCompute.json, examples/Compute/createOrUpdate/AKSCompute.json):
# Azure lower-cases `resourcegroups` in the cluster id and reports values the program never sends.
def _live_compute(registration_inputs: dict[str, Any], refreshed_only: dict[str, Any]) -> dict[str, Any]:
    properties = dict(registration_inputs["properties"])
    properties["resourceId"] = properties["resourceId"].replace("/resourceGroups/", "/resourcegroups/")
    properties["properties"] = {**properties.get("properties", {}), **refreshed_only}
    return {"properties": properties}


KUBERNETES_REFRESHED = {
    "relayConnectionString": None,
    "serviceBusConnectionString": None,
    "extensionPrincipalId": None,
    "extensionInstanceReleaseTrain": "stable",
    "vcName": None,
    "defaultInstanceType": "defaultinstancetype",
    "instanceTypes": {"defaultinstancetype": {"resources": {"requests": {"cpu": "1", "memory": "4Gi"}}}},
}
AKS_REFRESHED = {
    "agentCount": 4,
    "agentVmSize": "Standard_NC4as_T4_v3",
    "clusterFqdn": "aks.hcp.eastus.azmk8s.io",
}


def test_a_refreshed_compute_is_not_replaced_by_the_next_run(baseline: Baseline):
    compute = baseline.at_rest.one(COMPUTE)
    live = KUBERNETES_REFRESHED if baseline.stack == "dev-v2" else AKS_REFRESHED
    state = refreshed(baseline.at_rest, COMPUTE, _live_compute(dict(compute.inputs), live))
    second = run_program(
        config(baseline.stack, baseline.model_dir),
        stack=baseline.stack,
        mocks=DeployedMocks(baseline.at_rest),
    )
    plan = change_plan(state, second)
    assert plan.op(COMPUTE) == "same" and "replace" not in set(plan.ops.values())
    # Without the refreshed-only paths ignored, the next run would PUT or replace the compute.
    unignored = replace(
        state,
        registrations=[
            replace(r, ignore_changes=()) if r.type == COMPUTE else r for r in state.registrations
        ],
    )
    assert change_plan(unignored, second).op(COMPUTE) in {"update", "replace"}


def test_a_refreshed_stale_traffic_is_not_sent_again(v2: Baseline):
    # After a refresh the state's endpoint names a colour since deleted; Azure serves blue.
    v2_at_rest = v2.at_rest
    endpoint = dict(v2_at_rest.one(ENDPOINT).inputs)
    stale = {**endpoint, "properties": {**endpoint["properties"], "traffic": {"green": 100}}}
    state = refreshed(v2_at_rest, ENDPOINT, stale)
    second = run_program(config("dev-v2", v2.model_dir), stack="dev-v2", mocks=DeployedMocks(v2_at_rest))
    plan = change_plan(state, second)
    assert second.one(ENDPOINT).inputs["properties"]["traffic"] == {"blue": 100}
    assert plan.op(ENDPOINT) == "update" and "replace" not in set(plan.ops.values())
    assert _rule("endpoint-put-resets-traffic").violations(change_plan(v2_at_rest, second)) == []
