"""Two runs of the program under mocks, before and after each routine change, and what `pulumi up`
would do between them (harness/change_plan.py, a model of the engine's steps: azure-native's
plugin can't run here), checked against the service rules (harness/service_rules.py) and against
the ops each change should cause. The second run reads Azure as the first left it
(harness/deployed.py): the live cluster, what the endpoint serves, each colour's spec tag.

The baseline is a stack at rest: its second run, not its first (on the first the endpoint is
created without traffic, and the next run's endpoint PUT catches up with what the steps set).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import azure_base
import deployment.azure_common.environment as azure_environment
import v2.assets as v2_assets
from config import ConfigError
from harness.change_plan import ChangePlan
from harness.program import (
    ENDPOINT,
)
from harness.service_rules import SERVICE_RULES
from harness.two_runs import SHORT, SHORT_TYPE, WORKSPACE_PARTS, Baseline, config, write_model

NEW_IMAGE = azure_environment.GPU_BASE_IMAGE.rsplit(":", 1)[0] + ":20260101.v1"


def ops(plan: ChangePlan) -> Counter[tuple[str, str]]:
    """(type, op) of every resource that changes, workspace parts left out (they only take tags)."""
    found: Counter[tuple[str, str]] = Counter()
    for urn, op in plan.ops.items():
        type_ = urn.split("::")[2].split("$")[-1]
        if op != "same" and type_ not in WORKSPACE_PARTS:
            found[(SHORT.get(type_, type_), op)] += 1
    return found


def broken_rules(plan: ChangePlan) -> dict[str, list[str]]:
    return {rule.name: found for rule in SERVICE_RULES if (found := rule.violations(plan))}


@pytest.fixture
def new_base_image(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # One constant, imported by name into v2's assets: both names are the image.
    monkeypatch.setattr(azure_environment, "GPU_BASE_IMAGE", NEW_IMAGE)
    monkeypatch.setattr(v2_assets, "GPU_BASE_IMAGE", NEW_IMAGE)
    yield


# --- each routine change: what changes, and every service rule kept ---------------------------------

TAG_BUMP = {"tags": {"owner": "ml-platform", "expires-on": "2027-01-31"}}
EXPECTED: dict[str, dict[str, Counter[tuple[str, str]]]] = {
    "tag bump": {
        "dev": Counter({("ManagedCluster", "update"): 1}),
        "dev-v2": Counter(
            {("ManagedCluster", "update"): 1, ("OnlineEndpoint", "update"): 1, ("TrafficStep", "update"): 1}
        ),
    },
    "node count": {
        "dev": Counter({("ManagedCluster", "update"): 1}),
        "dev-v2": Counter({("ManagedCluster", "update"): 1}),
    },
    "cpu and memory": {
        "dev": Counter({("ModelDeployment", "update"): 1}),
        "dev-v2": Counter({("InstanceType", "replace"): 1, ("OnlineDeployment", "update"): 1}),
    },
    "auth": {
        "dev": Counter({("ModelDeployment", "update"): 1}),
        "dev-v2": Counter({("OnlineEndpoint", "update"): 1, ("TrafficStep", "update"): 1}),
    },
}
CHANGES: dict[str, dict[str, dict[str, Any]]] = {
    "tag bump": TAG_BUMP,
    "node count": {"cluster": {"nodeCount": 4}},
    "cpu and memory": {"service": {"cpuCores": 1.5, "memoryGb": 3}},
    "auth": {"service": {"authEnabled": False, "tokenAuthEnabled": True}},
}


def test_an_unchanged_stack_at_rest_changes_nothing(baseline: Baseline):
    plan = baseline.after()
    assert ops(plan) == Counter() and broken_rules(plan) == {}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_routine_change_updates_only_what_it_should_and_keeps_every_rule(baseline: Baseline, change: str):
    plan = baseline.after(**CHANGES[change])
    assert ops(plan) == EXPECTED[change][baseline.stack]
    assert broken_rules(plan) == {}


def test_a_tag_bump_puts_no_version_compute_or_live_deployment(baseline: Baseline):
    plan = baseline.after(**TAG_BUMP)
    assert {type_ for (type_, _op) in ops(plan)} <= {"ManagedCluster", "OnlineEndpoint", "TrafficStep"}
    for type_ in WORKSPACE_PARTS:  # the stack's tags reach every resource that takes tags in place
        assert plan.op(type_) == "update"


def test_new_model_content_makes_a_new_model_version_and_rolls_the_deployment(
    baseline: Baseline, tmp_path: Path
):
    retrained = write_model(tmp_path / "retrained", "another graph")
    plan = baseline.after_config(config(baseline.stack, retrained))
    if baseline.stack == "dev":
        assert ops(plan) == Counter({("ModelDeployment", "update"): 1})
    else:  # a version is named by its content: a new one is created, the old one deleted at the end
        assert ops(plan) == Counter(
            {
                ("ModelVersion", "create"): 1,
                ("ModelVersion", "delete"): 1,
                ("Blob", "create"): 1,
                ("Blob", "delete"): 1,
                ("OnlineDeployment", "update"): 1,
            }
        )
    assert broken_rules(plan) == {}


def test_a_new_base_image_makes_a_new_environment_and_rolls_the_deployment(
    baseline: Baseline, new_base_image: None
):
    plan = baseline.after()
    if baseline.stack == "dev":
        assert ops(plan) == Counter({("ModelDeployment", "update"): 1})
        assert "environment_hash" in plan.changed[plan.after.one(SHORT_TYPE["ModelDeployment"]).urn]
    else:
        assert ops(plan) == Counter(
            {
                ("EnvironmentVersion", "create"): 1,
                ("EnvironmentVersion", "delete"): 1,
                ("OnlineDeployment", "update"): 1,
            }
        )
    assert broken_rules(plan) == {}


def test_a_vm_size_change_replaces_everything_on_the_v1_cluster_in_order(v1: Baseline):
    plan = v1.after(cluster={"vmSize": "Standard_NC8as_T4_v3"})
    assert ops(plan) == Counter(
        {
            ("ManagedCluster", "replace"): 1,
            ("KubernetesProvider", "replace"): 1,
            ("DevicePlugin", "replace"): 1,
            ("Compute", "replace"): 1,
            ("ComputeDetachment", "replace"): 1,
            ("ModelDeployment", "replace"): 1,
        }
    )
    assert broken_rules(plan) == {}


def test_a_vm_size_change_on_v2_is_refused_at_preview_because_the_endpoint_would_lose_its_traffic(
    v2: Baseline, monkeypatch: pytest.MonkeyPatch
):
    baseline = v2
    bigger = {"cluster": {"vmSize": "Standard_NC8as_T4_v3"}}
    with pytest.raises(
        ConfigError,
        match=r"cluster\.vmSize = 'Standard_NC8as_T4_v3': the live cluster .* runs Standard_NC4as_T4_v3",
    ):
        baseline.after(**bigger)
    # Without the refusal: the engine would replace all on the cluster, and the endpoint come back
    # naming a deployment that is gone, its traffic steps not run again.
    monkeypatch.setattr(azure_base, "check_cluster_not_replaced", lambda *args, **kwargs: None)
    plan = baseline.after(**bigger)
    assert plan.op(ENDPOINT) == "replace" and plan.op(SHORT_TYPE["TrafficStep"]) == "same"
    assert list(broken_rules(plan)) == ["endpoint-put-resets-traffic"]


def test_the_same_size_in_other_letters_passes_the_live_cluster_check(v2: Baseline):
    assert v2.after(cluster={"vmSize": "standard_nc4as_t4_v3"}).op(SHORT_TYPE["ManagedCluster"]) == "same"
