"""Deploying onto a cluster or compute the stack does not own (`cluster.existing`), under mocks.

Azure is `AdoptingMocks`: the fake Azure of harness/program.py, plus an existing AKS cluster
(`getManagedCluster`) and an existing compute of the workspace (`getCompute`) with the pools and
kind a test gives. The program, its components and the SDK's registration path are real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adopted_pool import surge_nodes
from capacity_report import capacity_lines
from config import ConfigError, load_stack_config
from harness.adoption import (
    ADOPTED_TYPE,
    CLUSTER_ID,
    CPU_POOL,
    NS,
    SUBSCRIPTION,
    T4_POOL,
    AdoptingMocks,
    adopting,
)
from harness.program import (
    CLUSTER,
    COMPUTE,
    DETACHMENT_TYPE,
    DEVICE_PLUGIN,
    ENDPOINT,
    EXTENSION,
    INSTANCE_TYPE,
    MODEL_DEPLOYMENT_TYPE,
    ProgramRun,
    Registration,
    run_program,
)


def adopted_chain(run: ProgramRun, registration: Registration) -> bool:
    """Whether the resource is declared under the AdoptedCluster component."""
    parent = registration.parent
    while parent:
        found = run.by_urn(parent)
        if found.type == ADOPTED_TYPE:
            return True
        parent = found.parent
    return False


# --- what each mode declares -------------------------------------------------------------------


def test_v1_by_cluster_id_attaches_the_cluster_and_declares_no_cluster(model_dir: Path):
    mocks = AdoptingMocks()
    run = run_program(adopting(model_dir, {"clusterId": CLUSTER_ID}), mocks=mocks)
    assert not run.of_type(CLUSTER) and not run.of_type(DEVICE_PLUGIN)
    attach = run.one(COMPUTE)
    assert attach.inputs["properties"]["resourceId"] == CLUSTER_ID
    assert attach.inputs["properties"]["properties"]["clusterPurpose"] == "DevTest"
    assert attach.retain_on_delete and adopted_chain(run, attach)
    detachment = run.one(DETACHMENT_TYPE)
    deployment = run.one(MODEL_DEPLOYMENT_TYPE)
    assert deployment.inputs["target"]["compute_name"] == attach.inputs["computeName"]
    # Destroy: the service first, then the detach, then the attach; the cluster is never touched.
    assert run.depends_transitively(deployment, detachment)
    assert run.depends_transitively(detachment, attach)
    assert "kubeconfig" not in run.outputs  # the adopted cluster's credentials are not the stack's
    assert run.outputs["cluster_name"].value == "aks-team"
    assert mocks.reads == ["cluster rg-platform/aks-team"]


def test_v1_by_compute_name_declares_nothing_and_deploys_to_that_compute(model_dir: Path):
    mocks = AdoptingMocks()
    run = run_program(adopting(model_dir, {"computeName": "team-gpu"}), mocks=mocks)
    assert not run.of_type(CLUSTER) and not run.of_type(COMPUTE) and not run.of_type(DETACHMENT_TYPE)
    assert run.one(MODEL_DEPLOYMENT_TYPE).inputs["target"]["compute_name"] == "team-gpu"
    assert run.outputs["compute_name"].value == "team-gpu"
    assert mocks.reads == ["compute mlw-team/team-gpu", "cluster rg-platform/aks-team"]


def test_v2_by_cluster_id_extends_the_cluster_with_the_extension_and_a_compute(model_dir: Path):
    pools = [CPU_POOL, {**T4_POOL, "name": "gpu"}]
    existing = {"clusterId": CLUSTER_ID, "nodePool": "gpu"}
    run = run_program(
        adopting(model_dir, existing, stack="dev-v2"), stack="dev-v2", mocks=AdoptingMocks(pools)
    )
    assert not run.of_type(CLUSTER) and not run.of_type(DEVICE_PLUGIN)
    extension = run.one(EXTENSION).inputs
    assert (extension["clusterName"], extension["resourceGroupName"]) == ("aks-team", "rg-platform")
    settings = extension["configurationSettings"]
    assert settings["clusterId"] == CLUSTER_ID and settings["location"] == "westeurope"
    assert settings["inferenceRouterHA"] == "True"  # 2 + 3 nodes in the cluster
    compute = run.one(COMPUTE)
    assert compute.inputs["properties"]["resourceId"] == CLUSTER_ID and adopted_chain(run, compute)
    assert run.one(INSTANCE_TYPE).inputs["spec"]["nodeSelector"] == {"agentpool": "gpu"}
    assert run.one(ENDPOINT).inputs["properties"]["compute"] == compute.id


def test_v2_by_compute_name_adds_only_the_instance_type(model_dir: Path):
    mocks = AdoptingMocks(compute_type="Kubernetes")
    run = run_program(
        adopting(model_dir, {"computeName": "team-gpu"}, stack="dev-v2"), stack="dev-v2", mocks=mocks
    )
    for absent in (CLUSTER, EXTENSION, COMPUTE, DETACHMENT_TYPE, DEVICE_PLUGIN):
        assert not run.of_type(absent), absent
    instance_type = run.one(INSTANCE_TYPE)
    assert instance_type.inputs["spec"]["nodeSelector"] == {"agentpool": "gpu"}
    assert adopted_chain(run, instance_type)
    endpoint = run.one(ENDPOINT)
    assert endpoint.inputs["properties"]["compute"].endswith("/workspaces/mlw-team/computes/team-gpu")
    assert run.depends_transitively(endpoint, instance_type)


# --- the adopted pool in the fit checks --------------------------------------------------------


def test_a_cluster_with_two_gpus_refuses_three_replicas_naming_cluster_pool_and_numbers(model_dir: Path):
    pools = [{**T4_POOL, "count": 2}]
    with pytest.raises(ConfigError) as raised:
        run_program(adopting(model_dir, {"clusterId": CLUSTER_ID}), mocks=AdoptingMocks(pools))
    (problem,) = raised.value.problems
    assert problem.key == "service.replicas" and problem.value == 3
    assert "2 × Standard_NC4as_T4_v3 = 2 GPUs" in problem.allowed
    assert "adopted cluster aks-team (resource group rg-platform, westeurope), pool gpu" in problem.allowed


def test_the_capacity_plan_reads_the_adopted_pool_and_skips_the_quota(model_dir: Path):
    config = adopting(model_dir, {"clusterId": CLUSTER_ID})
    cfg = load_stack_config(config, stack="dev")
    lines = capacity_lines(cfg, {})  # before the lookup: the plan is the config's
    assert lines[1] == (
        "info",
        f"vCPU quota: not checked (the stack adds no nodes to the adopted cluster of {CLUSTER_ID})",
    )


def test_a_cpu_first_pool_is_refused_on_v1_which_deploys_only_there(model_dir: Path):
    pools = [CPU_POOL, T4_POOL]
    with pytest.raises(ConfigError) as raised:
        run_program(adopting(model_dir, {"clusterId": CLUSTER_ID}), mocks=AdoptingMocks(pools))
    (problem,) = raised.value.problems
    assert problem.key == "cluster.existing.clusterId"
    assert "pool system of cluster aks-team runs Standard_D4s_v5, not a GPU size" in problem.allowed
    assert "SDK v1 deploys to the first pool only" in problem.allowed


def test_an_unknown_node_pool_lists_the_clusters_pools(model_dir: Path):
    existing = {"clusterId": CLUSTER_ID, "nodePool": "gpu2"}
    with pytest.raises(ConfigError) as raised:
        run_program(
            adopting(model_dir, existing, stack="dev-v2"),
            stack="dev-v2",
            mocks=AdoptingMocks([CPU_POOL, T4_POOL]),
        )
    assert str(raised.value.problems[0]) == (
        "aml-gpu-inference:cluster.existing.nodePool = 'gpu2': a node pool of cluster aks-team: "
        "one of system (Standard_D4s_v5), gpu (Standard_NC4as_T4_v3)"
    )


def test_a_missing_cluster_or_compute_fails_before_anything_is_declared(model_dir: Path):
    missing = CLUSTER_ID.replace("aks-team", "aks-gone")
    for existing in ({"clusterId": missing}, {"computeName": "gone"}):
        with pytest.raises(ConfigError, match="does not exist"):
            run_program(adopting(model_dir, existing), mocks=AdoptingMocks())


def test_a_compute_of_the_wrong_kind_is_refused(model_dir: Path):
    with pytest.raises(ConfigError) as raised:
        run_program(
            adopting(model_dir, {"computeName": "team-gpu"}), mocks=AdoptingMocks(compute_type="Kubernetes")
        )
    assert (
        "compute team-gpu of workspace mlw-team is of type Kubernetes; target azure deploys to an AKS compute"
        in str(raised.value)
    )


def test_a_cluster_of_another_subscription_is_refused(model_dir: Path):
    other = CLUSTER_ID.replace(SUBSCRIPTION, "00000000-0000-4000-8000-0000000000ff")
    with pytest.raises(ConfigError, match="adopt a cluster of the workspace's subscription"):
        run_program(adopting(model_dir, {"clusterId": other}), mocks=AdoptingMocks())


def test_max_surge_as_aks_counts_it():
    assert surge_nodes("2", 10) == 2
    assert surge_nodes("33%", 3) == 1 and surge_nodes("50%", 5) == 3
    assert surge_nodes(None, 3) == 1 and surge_nodes(None, 11) == 2  # AKS's 10%, rounded up


# --- config ------------------------------------------------------------------------------------


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_stack_config(config, stack="dev")
    return [str(problem) for problem in raised.value.problems]


def test_pool_shape_keys_are_refused_beside_an_adopted_cluster(model_dir: Path):
    config = adopting(model_dir, {"clusterId": CLUSTER_ID})
    config[f"{NS}:cluster"]["nodeCount"] = 3
    assert problems(config) == [
        "aml-gpu-inference:cluster.nodeCount = 3: not with cluster.existing: the adopted cluster's pool "
        "decides it (read from Azure at preview); unset it"
    ]


def test_adopting_needs_exactly_one_of_compute_name_and_cluster_id(model_dir: Path):
    config = adopting(model_dir, {"clusterId": CLUSTER_ID})
    config[f"{NS}:cluster"]["existing"] = {}
    assert problems(config)[0].startswith(
        "aml-gpu-inference:cluster.existing = {}: exactly one of computeName"
    )


def test_a_compute_name_needs_an_adopted_workspace_and_no_attach_settings(model_dir: Path):
    config = adopting(model_dir, {"computeName": "team-gpu"})
    del config[f"{NS}:workspace"]
    config[f"{NS}:cluster"]["purpose"] = "FastProd"
    found = problems(config)
    assert found[0].startswith(
        "aml-gpu-inference:cluster.existing.computeName = 'team-gpu': only with workspace.existing"
    )
    assert found[1].startswith(
        "aml-gpu-inference:cluster.purpose = 'FastProd': not with cluster.existing.computeName"
    )


def test_a_node_pool_is_refused_on_v1_and_a_bad_cluster_id_names_the_form(model_dir: Path):
    config = adopting(model_dir, {"clusterId": "aks-team", "nodePool": "gpu"})
    assert problems(config) == [
        "aml-gpu-inference:cluster.existing.clusterId = 'aks-team': an AKS cluster's resource id: "
        "/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerService/managedClusters/<name>",
        "aml-gpu-inference:cluster.existing.nodePool = 'gpu': only with target azure-v2: SDK v1 deploys to "
        "the cluster's first node pool only",
    ]
