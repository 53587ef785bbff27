"""The policy pack over the azure-v2 stack: called directly and through the real analyzer server
(the helpers and the analyzer fixture are tests/policy/test_policies.py's)."""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest
from pulumi.runtime import proto, rpc
from test_policies import (
    _analyze,
    _analyzer_resource,
    _resource_violations,
    _stack_violations,
    analyzer,  # noqa: F401  (the fixture)
)

from harness.program import ProgramRun, run_program, stack_config
from policy import aml_policies

RESOURCE_POLICIES = (
    aml_policies.gpu_vm_size_allowlist,
    aml_policies.required_tags,
    aml_policies.online_endpoint_auth_mode,
)
ENDPOINT = aml_policies.ONLINE_ENDPOINT
# The engine's wire form of an asset: an object signed as one (the SDK's own constants).
ASSET_SIG = {rpc._special_sig_key: rpc._special_asset_sig}


def wire(value: Any) -> Any:
    """Property values as the engine sends them to the analyzer: file assets as signed objects."""
    if isinstance(value, pulumi.FileAsset):
        return {**ASSET_SIG, "path": value.path}
    if isinstance(value, dict):
        return {key: wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [wire(item) for item in value]
    return value


@pytest.fixture(scope="module")
def v2(tmp_path_factory: pytest.TempPathFactory) -> ProgramRun:
    model = tmp_path_factory.mktemp("model")
    (model / "saved_model.pb").write_bytes(b"graph")  # hashed and uploaded under mocks; content irrelevant
    config = stack_config("dev-v2")
    config["aml-gpu-inference:model"] = {"dir": str(model)}
    return run_program(config, stack="dev-v2")


def test_the_v2_stack_passes_every_resource_policy(v2: ProgramRun):
    for registration in v2.registrations:
        for policy in RESOURCE_POLICIES:
            assert _resource_violations(policy, registration.type, registration.inputs) == [], (
                registration.name
            )


def test_the_v2_resources_are_tagged_resources(v2: ProgramRun):
    for type_ in (ENDPOINT, aml_policies.ONLINE_DEPLOYMENT, "azure-native:resources:Deployment"):
        assert type_ in aml_policies.TAGGED_TYPES
        props = copy.deepcopy(v2.of_type(type_)[0].inputs)
        del props["tags"]["owner"]
        assert _resource_violations(aml_policies.required_tags, type_, props) == [
            "tag 'owner' is missing; required tags: owner, expires-on"
        ]


@pytest.mark.parametrize("mode", ["AADToken", None, "key"])
def test_an_endpoint_without_key_or_aml_token_auth_is_a_violation(v2: ProgramRun, mode: str | None):
    props = copy.deepcopy(v2.one(ENDPOINT).inputs)
    props["properties"]["authMode"] = mode
    assert _resource_violations(aml_policies.online_endpoint_auth_mode, ENDPOINT, props) == [
        f"online endpoint authMode {mode!r} is not allowed; allowed: Key, AMLToken"
    ]


def test_the_kubernetes_compute_attaches_this_stacks_cluster(v2: ProgramRun):
    assert _stack_violations(v2) == []
    compute = v2.one(aml_policies.COMPUTE)
    foreign = copy.deepcopy(compute.outputs)
    foreign["properties"]["resourceId"] = (
        "/subscriptions/s/resourceGroups/rg-v1/providers/Microsoft.ContainerService/managedClusters/aks-v1"
    )
    assert [urn for _, urn in _stack_violations(v2, {compute.urn: foreign})] == [compute.urn]


def test_server_analyze_passes_the_v2_stack_and_reports_a_bad_auth_mode(analyzer, v2: ProgramRun):  # noqa: F811
    for registration in v2.registrations:
        assert _analyze(analyzer, registration, wire(registration.inputs)) == [], registration.name
    endpoint = v2.one(ENDPOINT)
    props = copy.deepcopy(endpoint.inputs)
    props["properties"]["authMode"] = "AADToken"
    diagnostics = _analyze(analyzer, endpoint, props)
    assert [d.policyName for d in diagnostics] == ["online-endpoint-auth-mode"]
    assert diagnostics[0].enforcementLevel == proto.MANDATORY


def test_server_analyze_stack_passes_the_v2_stack(analyzer, v2: ProgramRun):  # noqa: F811
    resources = [_analyzer_resource(r, wire(r.outputs)) for r in v2.registrations]
    assert list(analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources)).diagnostics) == []
