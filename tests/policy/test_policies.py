"""The policy pack: its policies called directly, and through the real analyzer server.

The property bags are the ones the program registers under mocks (harness/program.py):
inputs (camelCase, as the engine sends them to `Analyze`) and the mocked outputs (as
`AnalyzeStack` receives them).
"""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from config import ConfigError, load_stack_config
from harness.program import ProgramRun, Registration, run_program, stack_config
from policy import aml_policies
from rules.gpu_sizes import GPU_SIZES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROGRAM_PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
CLUSTER = aml_policies.MANAGED_CLUSTER
COMPUTE = aml_policies.COMPUTE


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> ProgramRun:
    model = tmp_path_factory.mktemp("model")
    (model / "saved_model.pb").write_bytes(b"graph")  # hashed at construction; content irrelevant here
    config = stack_config("dev")
    config["aml-gpu-inference:model"] = {"dir": str(model)}
    return run_program(config, stack="dev")


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def _resource_violations(policy: Any, type_: str, props: dict[str, Any], urn: str = "urn:x") -> list[str]:
    found: list[str] = []
    args = ResourceValidationArgs(type_, props, urn, "name", _opts(), None)
    policy.validate(args, lambda message, _urn=None: found.append(message))
    return found


def _stack_violations(
    run: ProgramRun, outputs: dict[str, dict[str, Any]] | None = None
) -> list[tuple[str, str]]:
    """Call the stack policy with the run's resources (optionally some outputs replaced)."""
    by_urn = {}
    for r in run.registrations:
        props = (outputs or {}).get(r.urn, r.outputs)
        by_urn[r.urn] = PolicyResource(r.type, props, r.urn, r.name, _opts(), None, None, [], {})
    for r in run.registrations:
        resource = by_urn[r.urn]
        resource.parent = by_urn.get(r.parent)
        resource.dependencies = [by_urn[u] for u in r.dependencies if u in by_urn]
        resource.property_dependencies = {
            key: [by_urn[u] for u in urns if u in by_urn] for key, urns in r.property_dependencies.items()
        }
    found: list[tuple[str, str]] = []
    aml_policies.compute_attaches_stack_cluster.validate(
        StackValidationArgs(list(by_urn.values())), lambda message, urn=None: found.append((message, urn))
    )
    return found


# --- called directly ----------------------------------------------------------------------------


def test_the_dev_stack_passes_every_resource_policy(dev: ProgramRun):
    for registration in dev.registrations:
        for policy in (aml_policies.gpu_vm_size_allowlist, aml_policies.required_tags):
            assert _resource_violations(policy, registration.type, registration.inputs) == [], (
                registration.name
            )


def test_a_retired_or_cpu_first_pool_is_a_violation(dev: ProgramRun):
    props = copy.deepcopy(dev.one(CLUSTER).inputs)
    props["agentPoolProfiles"][0]["vmSize"] = "Standard_NC6"
    props["agentPoolProfiles"].append({"name": "cpu", "vmSize": "Standard_D4s_v5"})
    found = _resource_violations(aml_policies.gpu_vm_size_allowlist, CLUSTER, props)
    assert len(found) == 2
    assert found[0].startswith(
        "agentPoolProfiles[0] (gpupool): vmSize 'Standard_NC6' of the first pool "
        "(the one Azure ML deploys to) is not an allowed GPU size; allowed: Standard_NC4as_T4_v3, "
    )
    assert found[1].startswith(
        "agentPoolProfiles[1] (cpu): vmSize 'Standard_D4s_v5' of pool 1 is not an allowed"
    )


def test_missing_or_malformed_tags_are_violations(dev: ProgramRun):
    props = copy.deepcopy(dev.one("azure-native:storage:StorageAccount").inputs)
    props["tags"] = {"expires-on": "next week"}
    assert _resource_violations(aml_policies.required_tags, "azure-native:storage:StorageAccount", props) == [
        "tag 'owner' is missing; required tags: owner, expires-on",
        "tag 'expires-on' = 'next week': a date YYYY-MM-DD (inclusive, UTC) or an ISO 8601 timestamp "
        "with an offset; this is neither",
    ]


def test_the_dev_stacks_compute_attaches_its_own_cluster(dev: ProgramRun):
    assert _stack_violations(dev) == []


def test_a_compute_attaching_another_cluster_is_a_violation(dev: ProgramRun):
    compute = dev.one(COMPUTE)
    foreign = copy.deepcopy(compute.outputs)
    foreign["properties"]["resourceId"] = (
        "/subscriptions/s/resourceGroups/rg-other/providers/Microsoft.ContainerService/managedClusters/aks-other"
    )
    assert _stack_violations(dev, {compute.urn: foreign}) == [
        (
            "resourceId points at managed cluster 'aks-other' in resource group 'rg-other', "
            "which this stack does not declare",
            compute.urn,
        )
    ]


# --- through the real analyzer server -----------------------------------------------------------


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """`python __main__.py` in policy/, as the engine starts a Python policy pack."""
    process = subprocess.Popen(
        [str(PROGRAM_PYTHON), "__main__.py"],
        cwd=PROJECT_ROOT / "policy",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline().decode().strip()
        if not first_line.isdigit():
            process.kill()
            raise AssertionError(
                f"no port from the policy pack: {first_line!r} {process.stderr.read().decode()}"
            )
        with grpc.insecure_channel(f"127.0.0.1:{first_line}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(props, struct_pb2.Struct())


def _analyze(
    stub: analyzer_pb2_grpc.AnalyzerStub, registration: Registration, props: dict[str, Any]
) -> list[Any]:
    request = proto.AnalyzeRequest(
        type=registration.type, properties=_struct(props), urn=registration.urn, name=registration.name
    )
    return list(stub.Analyze(request).diagnostics)


def _analyzer_resource(registration: Registration, props: dict[str, Any]) -> Any:
    return proto.AnalyzerResource(
        type=registration.type,
        properties=_struct(props),
        urn=registration.urn,
        name=registration.name,
        parent=registration.parent,
        dependencies=list(registration.dependencies),
        propertyDependencies={
            key: proto.AnalyzerPropertyDependencies(urns=list(urns))
            for key, urns in registration.property_dependencies.items()
        },
    )


def test_server_reports_its_policies(analyzer: analyzer_pb2_grpc.AnalyzerStub):
    from google.protobuf import empty_pb2

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "aml-gpu-inference"
    assert {policy.name for policy in info.policies} == {
        "gpu-vm-size-allowlist",
        "required-tags",
        "online-endpoint-auth-mode",
        "model-service-auth",
        "aml-compute-attaches-stack-cluster",
    }


def test_server_analyze_passes_the_dev_stack(analyzer: analyzer_pb2_grpc.AnalyzerStub, dev: ProgramRun):
    for registration in dev.registrations:
        assert _analyze(analyzer, registration, registration.inputs) == [], registration.name


def test_server_analyze_reports_a_retired_gpu_size_and_missing_tags(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, dev: ProgramRun
):
    cluster = dev.one(CLUSTER)
    props = copy.deepcopy(cluster.inputs)
    props["agentPoolProfiles"][0]["vmSize"] = "Standard_NC6s_v3"
    del props["tags"]["owner"]
    diagnostics = _analyze(analyzer, cluster, props)
    assert {d.policyName for d in diagnostics} == {"gpu-vm-size-allowlist", "required-tags"}
    by_policy = {d.policyName: d for d in diagnostics}
    assert "vmSize 'Standard_NC6s_v3'" in by_policy["gpu-vm-size-allowlist"].message
    assert "tag 'owner' is missing" in by_policy["required-tags"].message
    assert all(d.enforcementLevel == proto.MANDATORY for d in diagnostics)


def test_server_analyze_stack_checks_the_compute_attach(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, dev: ProgramRun
):
    resources = [_analyzer_resource(r, r.outputs) for r in dev.registrations]
    assert list(analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources)).diagnostics) == []

    compute = dev.one(COMPUTE)
    foreign = copy.deepcopy(compute.outputs)
    foreign["properties"]["resourceId"] = (
        "/subscriptions/s/resourceGroups/rg-other/providers/Microsoft.ContainerService/managedClusters/aks-other"
    )
    resources = [
        _analyzer_resource(r, foreign if r.urn == compute.urn else r.outputs) for r in dev.registrations
    ]
    diagnostics = list(analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources)).diagnostics)
    assert [(d.policyName, d.urn) for d in diagnostics] == [
        ("aml-compute-attaches-stack-cluster", compute.urn)
    ]
    assert "which this stack does not declare" in diagnostics[0].message


def test_server_takes_every_gpu_size_of_the_programs_table(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, dev: ProgramRun
):
    """The pack, started in policy/, reads the program's table (policy/rules → infra/rules)."""
    cluster = dev.one(CLUSTER)
    for size in GPU_SIZES:
        props = copy.deepcopy(cluster.inputs)
        props["agentPoolProfiles"][0]["vmSize"] = size
        assert _analyze(analyzer, cluster, props) == [], size


def test_server_reads_expires_on_as_the_stack_config_does(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, dev: ProgramRun
):
    """A timestamp with an offset passes (the pack took dates only); one without is refused in
    the stack config's words."""
    storage = dev.one("azure-native:storage:StorageAccount")
    props = copy.deepcopy(storage.inputs)
    props["tags"]["expires-on"] = "2026-12-24T18:00:00+01:00"
    assert _analyze(analyzer, storage, props) == []

    props["tags"]["expires-on"] = "2026-12-24T18:00:00"
    with pytest.raises(ConfigError) as caught:
        load_stack_config({"target": "azure", "tags": props["tags"]}, stack="dev")
    (problem,) = caught.value.problems
    (diagnostic,) = _analyze(analyzer, storage, props)
    assert diagnostic.message.endswith(f"'2026-12-24T18:00:00': {problem.allowed}")


def test_attached_computes_need_no_tags_but_other_computes_do(dev: ProgramRun):
    attach = copy.deepcopy(dev.one(COMPUTE).inputs)
    assert attach["properties"]["computeType"] == "AKS" and "tags" not in attach
    assert _resource_violations(aml_policies.required_tags, COMPUTE, attach) == []
    kubernetes = {"properties": {**attach["properties"], "computeType": "Kubernetes"}}
    assert _resource_violations(aml_policies.required_tags, COMPUTE, kubernetes) == []
    instance = {"properties": {**attach["properties"], "computeType": "ComputeInstance"}}
    assert _resource_violations(aml_policies.required_tags, COMPUTE, instance) == [
        "tag 'owner' is missing; required tags: owner, expires-on",
        "tag 'expires-on' is missing; required tags: owner, expires-on",
    ]
