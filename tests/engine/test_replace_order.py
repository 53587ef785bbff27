"""The order in which the real engine replaces the v1 stack's cluster and what lives on it, on a
shadow of the program's graph (harness/shadow.py: the same resources, options and property
dependencies as dynamic resources that log each call; azure-native's plugin can't run here).

A vmSize change must detach the compute (its ComputeDetachment step, which also removes
azureml-fe's objects) while the old cluster still exists and before the new attach, delete the
service before that, never DELETE the attach itself (it is retained: the step detaches), and
replace exactly what harness/change_plan.py predicts for the same two runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import azure_base
from harness.change_plan import ChangePlan, change_plan
from harness.deployed import DeployedMocks
from harness.program import ProgramRun, run_program
from harness.shadow import install, read_log, shadow_spec
from harness.two_runs import at_rest, config

BIGGER = {"cluster": {"vmSize": "Standard_NC8as_T4_v3"}}


def _replaced(plan: ChangePlan) -> set[str]:
    return {urn.rsplit("::", 1)[-1] for urn in plan.with_op("replace") if "pulumi:providers:" not in urn}


def _two_ups(tmp_path: Path, new_sandbox, before: ProgramRun, after: ProgramRun) -> list[tuple[str, str]]:
    """`pulumi up` of `before`'s shadow, then of `after`'s: the second up's operations, in order."""
    sandbox = new_sandbox(tmp_path / "project")
    log = tmp_path / "operations.jsonl"
    install(sandbox.root / "infra", shadow_spec(before, log))
    sandbox.pulumi("up", "--yes")
    assert read_log(log), "the first up created nothing"
    log.unlink()
    install(sandbox.root / "infra", shadow_spec(after, log))
    sandbox.pulumi("up", "--yes")
    return read_log(log)


def test_a_vm_size_change_detaches_before_the_cluster_goes_and_before_the_reattach(
    tmp_path: Path, new_sandbox
):
    v1 = at_rest("dev", tmp_path / "model")
    after = run_program(config("dev", v1.model_dir, **BIGGER), stack="dev", mocks=DeployedMocks(v1.at_rest))
    predicted = _replaced(change_plan(v1.at_rest, after))
    assert {"gpu-aks", "gpu-compute", "gpu-compute-detach", "model"} <= predicted
    steps = _two_ups(tmp_path, new_sandbox, v1.at_rest, after)
    at = {step: index for index, step in enumerate(steps)}

    assert {name for op, name in steps if op == "create"} == predicted  # the model's replace set
    assert ("delete", "gpu-compute") not in at  # retained: only its detach step detaches it
    assert at[("delete", "model")] < at[("delete", "gpu-compute-detach")]
    assert (
        at[("delete", "gpu-compute-detach")] < at[("delete", "gpu-aks")]
    )  # azureml-fe's cleanup needs the cluster
    assert at[("delete", "gpu-compute-detach")] < at[("create", "gpu-compute")]  # detach before re-attach
    assert at[("create", "gpu-aks")] < at[("create", "gpu-compute")] < at[("create", "gpu-compute-detach")]
    assert at[("create", "gpu-compute")] < at[("create", "model")]


def test_without_the_refusal_a_v2_vm_size_change_would_recreate_the_endpoint_and_not_rerun_its_traffic(
    tmp_path: Path, new_sandbox, monkeypatch: pytest.MonkeyPatch
):
    """Why azure-v2 refuses a vmSize change at preview (infra/cluster_replacement.py), on the
    real engine: the endpoint is replaced with everything on the cluster, its traffic step not."""
    v2 = at_rest("dev-v2", tmp_path / "model")
    monkeypatch.setattr(azure_base, "check_cluster_not_replaced", lambda *args, **kwargs: None)
    after = run_program(
        config("dev-v2", v2.model_dir, **BIGGER), stack="dev-v2", mocks=DeployedMocks(v2.at_rest)
    )
    steps = _two_ups(tmp_path, new_sandbox, v2.at_rest, after)
    replaced = _replaced(change_plan(v2.at_rest, after))
    assert {name for op, name in steps if op == "create"} == replaced
    assert {"gpu-aks", "gpu-azureml-extension", "gpu-compute", "online-endpoint", "online-blue"} <= replaced
    assert not {name for _op, name in steps} & {"online-traffic"}  # the traffic is never PUT again
