"""A stack at rest and what a change to it would do, for the two-run tests.

    v2 = at_rest("dev-v2", tmp_path / "model")       # first run, then a second one reading it
    plan = v2.after(cluster={"nodeCount": 4})          # harness/change_plan.py's ChangePlan

The baseline is the stack's second run, not its first: on the first the endpoint is created
without traffic, and the next run's endpoint PUT catches up with what the traffic steps set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.change_plan import ChangePlan, change_plan
from harness.deployed import DeployedMocks
from harness.program import PROJECT, ProgramRun, run_program, stack_config

NS = PROJECT
# The tests' short names of the resource types whose ops they assert.
SHORT = {
    "azure-native:machinelearningservices:OnlineDeployment": "OnlineDeployment",
    "azure-native:machinelearningservices:OnlineEndpoint": "OnlineEndpoint",
    "azure-native:machinelearningservices:ModelVersion": "ModelVersion",
    "azure-native:machinelearningservices:EnvironmentVersion": "EnvironmentVersion",
    "azure-native:machinelearningservices:Compute": "Compute",
    "azure-native:containerservice:ManagedCluster": "ManagedCluster",
    "azure-native:resources:Deployment": "TrafficStep",
    "azure-native:storage:Blob": "Blob",
    "kubernetes:amlarc.azureml.com/v1alpha1:InstanceType": "InstanceType",
    "pulumi-python:dynamic/amlgpu:ModelDeployment": "ModelDeployment",
    "pulumi-python:dynamic/amlgpu:ComputeDetachment": "ComputeDetachment",
    "pulumi:providers:kubernetes": "KubernetesProvider",
    "kubernetes:apps/v1:DaemonSet": "DevicePlugin",
}
SHORT_TYPE = {short: type_ for type_, short in SHORT.items()}
WORKSPACE_PARTS = (
    "azure-native:resources:ResourceGroup",
    "azure-native:storage:StorageAccount",
    "azure-native:operationalinsights:Workspace",
    "azure-native:containerregistry:Registry",
    "azure-native:keyvault:Vault",
    "azure-native:applicationinsights:Component",
    "azure-native:machinelearningservices:Workspace",
)


def write_model(root: Path, content: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "saved_model.pb").write_text(content)
    return root


def config(stack: str, model_dir: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    """The stack file's config with `model.dir`, and `sections` merged over its own."""
    values = stack_config(stack)
    values[f"{NS}:model"] = {**values.get(f"{NS}:model", {}), "dir": str(model_dir)}
    for key, section in sections.items():
        values[f"{NS}:{key}"] = {**values.get(f"{NS}:{key}", {}), **section}
    return values


@dataclass
class Baseline:
    stack: str
    model_dir: Path
    at_rest: ProgramRun

    def after(self, **sections: dict[str, Any]) -> ChangePlan:
        return self.after_config(config(self.stack, self.model_dir, **sections))

    def after_config(self, values: dict[str, Any]) -> ChangePlan:
        second = run_program(values, stack=self.stack, mocks=DeployedMocks(self.at_rest))
        return change_plan(self.at_rest, second)


def at_rest(stack: str, model_dir: Path) -> Baseline:
    """The stack after its first `up` and a second run: at rest, serving."""
    write_model(model_dir, "graph")
    values = config(stack, model_dir)
    first = run_program(values, stack=stack)
    return Baseline(stack, model_dir, run_program(values, stack=stack, mocks=DeployedMocks(first)))
