"""The Azure cluster rules of the stack config: what AKS leaves allocatable on a GPU node, a leaf
domain label with an internal load balancer, compute names by azureml-core's own rule."""

from __future__ import annotations

from typing import Any
from unittest.mock import Mock

import pytest
from azureml.core.compute.synapse import SynapseCompute
from azureml.exceptions import ComputeTargetException
from hypothesis import given
from hypothesis import strategies as st

from config import NAMESPACE, ConfigError, load_stack_config
from naming import stack_names
from rules.aks_nodes import allocatable_cpu_cores, allocatable_memory_gib

DEV_CLUSTER = {"vmSize": "Standard_NC4as_T4_v3", "nodeCount": 3, "purpose": "DevTest"}
DEV_SERVICE = {"name": "aks-dnn-mnist", "replicas": 3, "cpuCores": 2, "memoryGb": 4, "gpuCores": 1}


def problems(cluster: dict[str, Any] | None = None, service: dict[str, Any] | None = None) -> list[str]:
    values = {
        f"{NAMESPACE}:target": "azure",
        f"{NAMESPACE}:location": "eastus",
        f"{NAMESPACE}:namePrefix": "amlgpu",
        f"{NAMESPACE}:tags": {"owner": "ml", "expires-on": "2099-12-31"},
        f"{NAMESPACE}:cluster": {**DEV_CLUSTER, **(cluster or {})},
        f"{NAMESPACE}:service": {**DEV_SERVICE, **(service or {})},
        f"{NAMESPACE}:model": {"name": "mnist-dnn", "dir": "artifacts/model"},
    }
    try:
        load_stack_config(values, stack="dev")
    except ConfigError as error:
        return [str(problem) for problem in error.problems]
    return []


# --- allocatable CPU and memory ------------------------------------------------------------------


def test_aks_reserves_cpu_and_memory_on_every_node():
    # AKS's kube-reserved CPU for a 4-core node is 140m; memory: 25% of the first 4 GiB, 20% of
    # the next 4, 10% of the next 8, 6% up to 128, plus the 750 Mi eviction threshold.
    assert allocatable_cpu_cores(4) == pytest.approx(3.86)
    assert allocatable_memory_gib(28) == pytest.approx(28 - 1 - 0.8 - 0.8 - 0.72 - 750 / 1024)


def test_as_many_cpu_cores_as_the_node_has_is_refused_at_preview_time():
    (problem,) = problems(service={"cpuCores": 4})
    assert problem.startswith("aml-gpu-inference:service.cpuCores = 4.0: ≤ 3.86:")
    assert "4 vCPUs" in problem and "allocatable" in problem


def test_memory_beyond_what_aks_leaves_allocatable_is_refused():
    (problem,) = problems(service={"memoryGb": 26})
    assert problem.startswith("aml-gpu-inference:service.memoryGb = 26.0: ≤ 23.94:")
    assert "28 GiB" in problem


def test_the_how_tos_settings_fit():
    assert problems() == []


# --- TLS and the load balancer ---------------------------------------------------------------------


def test_a_leaf_domain_label_with_an_internal_load_balancer_is_refused_naming_both_keys():
    (problem,) = problems(
        cluster={"loadBalancerType": "InternalLoadBalancer", "ssl": {"leafDomainLabel": "mnist"}}
    )
    assert problem.startswith("aml-gpu-inference:cluster.ssl.leafDomainLabel = 'mnist':")
    assert "cluster.loadBalancerType" in problem and "InternalLoadBalancer" in problem


def test_a_leaf_domain_label_on_a_public_ip_is_accepted():
    assert problems(cluster={"loadBalancerType": "PublicIp", "ssl": {"leafDomainLabel": "mnist"}}) == []


# --- compute names ---------------------------------------------------------------------------------


def _sdk_accepts_compute_name(name: str) -> bool:
    """azureml-core's one client-side compute-name rule, the first check of an attach
    (`SynapseCompute._attach`; the AKS attach leaves the check to the service, same rule)."""
    try:
        SynapseCompute._attach(Mock(), name, Mock())
    except ComputeTargetException as error:
        if "compute name" in str(error).lower() or "compute_name" in str(error).lower():
            return False
        raise
    except Exception:  # past the name check: the mocks stop it there
        return True
    return True


def test_the_sdks_rule_is_what_naming_says():
    assert _sdk_accepts_compute_name("gpu-a1b2c3d4")
    assert not _sdk_accepts_compute_name("g")
    assert not _sdk_accepts_compute_name("gpu-" + "x" * 13)  # 17 characters


@given(
    st.from_regex(r"[a-z][a-z0-9]{1,7}", fullmatch=True),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=40),
    st.from_regex(r"[a-z0-9]{4,8}", fullmatch=True),
)
def test_every_compute_name_naming_makes_passes_the_sdks_rule(prefix: str, stack: str, suffix: str):
    assert _sdk_accepts_compute_name(stack_names(prefix, stack, suffix).compute)
