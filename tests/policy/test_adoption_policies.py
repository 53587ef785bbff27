"""The policy pack on stacks that adopt a cluster (`cluster.existing`): the rules hold for what is
created and skip what is adopted, called directly and through the real analyzer server."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.runtime import proto
from test_policies import (  # noqa: F401 (analyzer: the real analyzer server, a fixture)
    _analyzer_resource,
    _resource_violations,
    _stack_violations,
    analyzer,
)
from test_v2_policies import wire

import adopted_cluster
from harness.adoption import ADOPTED_TYPE, CLUSTER_ID, AdoptingMocks, adopting
from harness.program import COMPUTE, run_program
from policy import aml_policies


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = tmp_path_factory.mktemp("model")
    (model / "saved_model.pb").write_bytes(b"graph")  # hashed at construction; content irrelevant here
    return model


def test_the_policy_pack_accepts_the_attach_of_an_adopted_cluster_and_checks_what_is_created(model_dir: Path):
    run = run_program(adopting(model_dir, {"clusterId": CLUSTER_ID}), mocks=AdoptingMocks())
    assert _stack_violations(run) == []
    for registration in run.registrations:
        for policy in (aml_policies.gpu_vm_size_allowlist, aml_policies.required_tags):
            assert _resource_violations(policy, registration.type, registration.inputs) == [], (
                registration.name
            )
    # The same attach outside the marker is an attach of an undeclared cluster.
    attach = run.one(COMPUTE)
    resources = [(attach.type, attach.urn, attach.outputs, [], ["amlgpu:azure:GpuAksCluster"])]
    assert aml_policies.compute_attach_violations(resources) == [
        (
            "resourceId points at managed cluster 'aks-team' in resource group 'rg-platform', "
            "which this stack does not declare",
            attach.urn,
        )
    ]


def test_the_policy_packs_marker_is_the_programs_component_type():
    assert aml_policies.ADOPTED_CLUSTER_TYPE == adopted_cluster.ADOPTED_CLUSTER_TYPE == ADOPTED_TYPE


def test_the_policy_pack_passes_the_v2_stack_on_an_adopted_cluster(model_dir: Path):
    existing = {"clusterId": CLUSTER_ID}
    run = run_program(adopting(model_dir, existing, stack="dev-v2"), stack="dev-v2", mocks=AdoptingMocks())
    assert _stack_violations(run) == []
    for registration in run.registrations:
        for policy in (aml_policies.gpu_vm_size_allowlist, aml_policies.required_tags):
            assert _resource_violations(policy, registration.type, registration.inputs) == [], (
                registration.name
            )


def test_the_real_analyzer_reads_the_marker_from_the_parents(analyzer, model_dir: Path):  # noqa: F811
    run = run_program(
        adopting(model_dir, {"clusterId": CLUSTER_ID}, stack="dev-v2"), stack="dev-v2", mocks=AdoptingMocks()
    )
    resources = [_analyzer_resource(r, wire(r.outputs)) for r in run.registrations]
    assert list(analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources)).diagnostics) == []
