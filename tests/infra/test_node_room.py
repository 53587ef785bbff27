"""azure-v2's CPU and memory check (rules/node_room.py, rules/extension_pods.py): the AzureML
extension's pods share the pool with the replicas, node by node, in the plan, at config time and
in preview's log; an adopted cluster with other pools doesn't count them on the GPU pool."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from config import load_stack_config
from config.capacity import stack_capacity_plan
from config.reader import ConfigError
from harness.adoption import CLUSTER_ID, CPU_POOL, T4_POOL, AdoptingMocks, adopting
from harness.program import run_program, stack_config
from rules.capacity import IN_PLACE, Pool, plan_capacity
from rules.extension_pods import CLUSTER_PODS, PER_NODE_POD, ROUTER_POD, PodRequest, extension_pods
from rules.node_room import NodeShape, place
from v2.kubernetes_compute import extension_settings

TAGS = {"owner": "ml-platform", "expires-on": "2026-12-31"}
T4 = Pool("Standard_NC4as_T4_v3", node_count=3, gpus_per_node=1, vcpus_per_node=4, quota_family="fam")


def v2(**service: Any) -> dict[str, Any]:
    return {"target": "azure-v2", "tags": TAGS, "rollout": {"strategy": "inPlace"}, "service": service}


def problems(source: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(source, stack="dev-v2")
    return [str(problem) for problem in caught.value.problems]


def test_the_extensions_requests_are_microsofts_inference_rows_with_three_routers_in_ha():
    # The table's inference-only install: 890m and 1664 Mi cluster-wide, 900m/800 Mi per router.
    assert (sum(p.cpu_m for p in CLUSTER_PODS), sum(p.memory_mi for p in CLUSTER_PODS)) == (890, 1664)
    assert (ROUTER_POD.cpu_m, ROUTER_POD.memory_mi, PER_NODE_POD.cpu_m) == (900, 800, 10)
    assert sum(p.cpu_m for p in extension_pods(3)) == 890 + 3 * 900
    assert sum(p.cpu_m for p in extension_pods(2)) == 890 + 900


@pytest.mark.parametrize("nodes, routers", [(1, 1), (2, 1), (3, 3), (6, 3)])
def test_the_routers_counted_are_the_ones_the_extension_settings_ask_for(nodes: int, routers: int):
    settings = extension_settings(
        cluster_id=CLUSTER_ID,
        cluster_name="aks",
        location="eastus",
        node_count=nodes,
        cluster_purpose="DevTest",
        internal_load_balancer=False,
        ssl_cname=None,
    )
    assert settings["inferenceRouterHA"] == str(routers == 3)
    assert [p.name for p in extension_pods(nodes)].count("azureml-fe-v2") == routers


def test_pods_are_placed_node_by_node_not_as_a_sum():
    # 8 cores in all and 7 asked, but a 3-core system pod leaves no node with 2 cores for both replicas.
    shape = NodeShape(cpu_m=4000, memory_mi=16000, gpus=1)
    system = [PodRequest("big", 3000, 100)]
    replicas = [PodRequest("replica", 2000, 1000, gpus=1)] * 2
    placement = place(shape, 2, per_node=[], system=system, replicas=replicas)
    assert [p.name for p in placement.pending] == ["replica"]
    assert placement.free_after_system == ((1000, 15900), (4000, 16000))
    assert place(shape, 3, per_node=[], system=system, replicas=replicas).fits


def test_the_how_tos_replicas_fit_beside_the_extension_on_three_t4_nodes():
    plan = plan_capacity(
        T4, replicas=3, gpu_cores=1, target="azure-v2", strategy=IN_PLACE, cpu_cores=2, memory_gb=4
    )
    assert plan.room_shortfalls == ()
    assert (
        "steady state, CPU and memory: 3 × (2.01 CPU, 4.1 GiB) + the AzureML extension's 3.59 CPU, "
        "3.97 GiB on 3 × (3.86 CPU, 23.95 GiB allocatable): fits"
    ) in plan.describe()


def test_v1_has_no_cpu_and_memory_lines():
    plan = plan_capacity(T4, replicas=3, gpu_cores=1, target="azure", cpu_cores=3, memory_gb=4)
    assert plan.rooms == () and "CPU and memory" not in plan.describe()


def test_three_cores_per_replica_fit_a_node_alone_but_not_beside_the_extension():
    # 3 ≤ 3.86 allocatable, so the node-size rule passes; the router and the rest take 1.2 of each node.
    (problem,) = problems(v2(cpuCores=3))
    assert problem.startswith(
        "aml-gpu-inference:service.cpuCores = 3: the steady state's 3 replicas need 3.01 CPU"
    )
    assert (
        "2.65 CPU/22.75 GiB, 2.65 CPU/22.81 GiB, 2.66 CPU/22.02 GiB free: 3 pod(s) would stay Pending"
        in problem
    )
    assert "Ways out: service.cpuCores ≤ 2.64; or cluster.nodeCount ≥ 6" in problem
    assert load_stack_config(v2(cpuCores=2.64), stack="dev-v2").service.cpu_cores == 2.64
    # v1's router has no published figures: only the node-size rule holds there.
    assert load_stack_config({"target": "azure", "tags": TAGS, "service": {"cpuCores": 3}}, stack="dev")


def test_memory_is_checked_the_same_way_and_names_its_key():
    (problem,) = problems(v2(memoryGb=22.5))
    assert problem.startswith("aml-gpu-inference:service.memoryGb = 22.5:")
    assert "service.memoryGb ≤ 21.9" in problem and "service.cpuCores" not in problem.split("Ways out")[1]
    assert load_stack_config(v2(memoryGb=21.9), stack="dev-v2")


def test_blue_green_counts_both_colours_pods():
    six = {"nodeCount": 6}
    source = {**v2(cpuCores=3), "cluster": six, "rollout": {"strategy": "blueGreen"}}
    plan = stack_capacity_plan(load_stack_config({**source, "service": {}}, stack="dev-v2"))
    assert plan is not None and [room.replica_pods for room in plan.rooms] == [3, 6]
    (problem,) = problems(source)
    assert "the blue/green update (both colours at once)'s 6 replicas need 3.01 CPU" in problem


def test_preview_logs_the_cpu_and_memory_line(model_dir: Path, caplog: pytest.LogCaptureFixture):
    config = stack_config("dev-v2")
    config["aml-gpu-inference:model"] = {"dir": str(model_dir)}
    with caplog.at_level(logging.INFO):
        run_program(config, stack="dev-v2", preview=True)
    assert (
        "steady state, CPU and memory: 3 × (2.01 CPU, 4.1 GiB) + the AzureML extension's 3.59 CPU"
        in caplog.text
    )


def test_an_adopted_cluster_with_other_pools_does_not_count_the_extension_on_the_gpu_pool(
    model_dir: Path, caplog: pytest.LogCaptureFixture
):
    config = adopting(model_dir, {"clusterId": CLUSTER_ID, "nodePool": "gpu"}, stack="dev-v2")
    config["aml-gpu-inference:service"] = {"cpuCores": 3}
    with caplog.at_level(logging.INFO):
        run_program(config, stack="dev-v2", preview=True, mocks=AdoptingMocks([CPU_POOL, T4_POOL]))
    assert "(the AzureML extension's pods not counted: the cluster has other pools)" in caplog.text
    # The same pool as the whole cluster holds the extension too, and 3 cores don't fit beside it.
    with pytest.raises(ConfigError, match=r"service\.cpuCores = 3: .*adopted cluster aks-team"):
        run_program(config, stack="dev-v2", preview=True, mocks=AdoptingMocks([T4_POOL]))
