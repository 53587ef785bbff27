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

from harness.change_plan import change_plan
from harness.deployed import DeployedMocks
from harness.program import run_program
from harness.shadow import install, read_log, shadow_spec
from harness.two_runs import at_rest, config

BIGGER = {"cluster": {"vmSize": "Standard_NC8as_T4_v3"}}


def test_a_vm_size_change_detaches_before_the_cluster_goes_and_before_the_reattach(
    tmp_path: Path, new_sandbox
):
    v1 = at_rest("dev", tmp_path / "model")
    after = run_program(config("dev", v1.model_dir, **BIGGER), stack="dev", mocks=DeployedMocks(v1.at_rest))
    plan = change_plan(v1.at_rest, after)
    predicted = {urn.rsplit("::", 1)[-1] for urn in plan.with_op("replace") if "pulumi:providers:" not in urn}
    assert {"gpu-aks", "gpu-compute", "gpu-compute-detach", "model"} <= predicted

    sandbox = new_sandbox(tmp_path / "project")
    log = tmp_path / "operations.jsonl"
    install(sandbox.root / "infra", shadow_spec(v1.at_rest, log))
    sandbox.pulumi("up", "--yes")
    assert {name for op, name in read_log(log) if op == "create"} >= {"gpu-aks", "gpu-compute", "model"}

    log.unlink()
    install(sandbox.root / "infra", shadow_spec(after, log))
    sandbox.pulumi("up", "--yes")
    steps = read_log(log)
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
