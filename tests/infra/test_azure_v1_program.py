"""The v1 Azure stack's rendered inputs, checked against what Azure and azureml-core need.

Each test guards a fault no mock of ours could see (issue 13): what the key vault, the AKS attach
and the cluster send on a later update, how TLS is requested, which region the attach goes to,
which kubeconfig is exported. Azure is faked by `harness.program.AzureMocks`; the program, its
components and the SDK's registration path are real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from harness.program import (
    CLUSTER,
    COMPUTE,
    DETACHMENT_TYPE,
    DEVICE_PLUGIN,
    FAKE_KUBECONFIG,
    FAKE_USER_KUBECONFIG,
    FAKE_WORKSPACE_LOCATION,
    MODEL_DEPLOYMENT_TYPE,
    VAULT,
    WORKSPACE,
    AzureMocks,
    ProgramRun,
    run_program,
    stack_config,
)


def dev_config(model_dir: Path, cluster: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    config = stack_config("dev")
    config["aml-gpu-inference:model"] = {"name": "mnist-dnn", "dir": str(model_dir)}
    if cluster:
        config["aml-gpu-inference:cluster"] = {**config["aml-gpu-inference:cluster"], **cluster}
    config.update({f"aml-gpu-inference:{key}": value for key, value in top.items()})
    return config


@pytest.fixture(scope="module")
def dev(model_dir: Path) -> ProgramRun:
    return run_program(dev_config(model_dir), stack="dev")


def attach_inputs(run: ProgramRun) -> dict[str, Any]:
    return run.one(COMPUTE).inputs


# --- the key vault ------------------------------------------------------------------------------


def test_the_key_vault_declares_no_access_policies_so_an_update_keeps_azure_mls(dev: ProgramRun):
    # An explicit list (even []) is sent on every later PUT and replaces the policy Azure ML adds
    # for the workspace identity; left out, azure-native keeps what the vault has.
    assert "accessPolicies" not in dev.one(VAULT).inputs["properties"]


# --- the AKS attach -----------------------------------------------------------------------------


def test_the_attach_sends_what_azureml_cores_own_attach_sends(dev: ProgramRun):
    compute = attach_inputs(dev)
    assert compute["properties"] == {
        "computeType": "AKS",
        "resourceId": dev.one(CLUSTER).id,
        "properties": {"clusterPurpose": "DevTest", "loadBalancerType": "PublicIp"},
    }
    assert "tags" not in compute
    assert compute["location"] == dev.one(WORKSPACE).inputs["location"]


def test_node_count_and_tag_changes_leave_the_attach_untouched(model_dir: Path, dev: ProgramRun):
    changed = run_program(
        dev_config(
            model_dir, cluster={"nodeCount": 4}, tags={"owner": "someone-else", "expires-on": "2026-12-01"}
        ),
        stack="dev",
    )
    assert attach_inputs(changed) == attach_inputs(dev)
    assert changed.one(CLUSTER).inputs["agentPoolProfiles"][0]["count"] == 4  # scaled in place


def _leaf_paths(value: object, prefix: str = "") -> set[str]:
    if isinstance(value, dict) and value:
        return {p for k, v in value.items() for p in _leaf_paths(v, f"{prefix}.{k}" if prefix else k)}
    return {prefix}


def _covered(path: str, by: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + ".") for p in by)


def test_a_changed_attach_is_replaced_delete_first_but_only_on_what_it_sends(
    dev: ProgramRun, model_dir: Path
):
    compute = dev.one(COMPUTE)
    assert compute.delete_before_replace
    with_ssl = run_program(dev_config(model_dir, cluster={"ssl": {"leafDomainLabel": "mnist"}}), stack="dev")
    body = {
        k: v
        for k, v in attach_inputs(with_ssl).items()
        if k not in ("computeName", "resourceGroupName", "workspaceName")
    }
    sent = _leaf_paths(body)
    # Every value the attach sends replaces it; nothing a refresh brings back does.
    assert all(_covered(path, compute.replace_on_changes) for path in sent), sent
    assert "properties" not in compute.replace_on_changes
    assert not any(_covered(path, compute.ignore_changes) for path in sent)
    assert "properties.properties.agentCount" in compute.ignore_changes


def test_every_compute_is_detached_by_its_own_step_not_azure_natives_delete(dev: ProgramRun):
    compute = dev.one(COMPUTE)
    assert compute.retain_on_delete  # azure-native's DELETE lacks underlyingResourceAction
    detachment = dev.one(DETACHMENT_TYPE)
    assert compute.urn in detachment.depends_on_urns
    assert detachment.inputs["compute_id"] == compute.id
    assert rpc.is_rpc_secret(detachment.inputs["legacy_router_kubeconfig"])  # v1: router cleanup
    assert "legacy_router_kubeconfig" in detachment.additional_secret_outputs
    # The service goes before the detach; the detach before the cluster.
    assert detachment.urn in dev.one(MODEL_DEPLOYMENT_TYPE).depends_on_urns
    assert detachment.urn not in dev.one(CLUSTER).depends_on_urns


def test_a_changed_gpu_vm_size_replaces_the_cluster_delete_first(dev: ProgramRun):
    cluster = dev.one(CLUSTER)
    assert "agentPoolProfiles[*].vmSize" in cluster.replace_on_changes
    assert cluster.delete_before_replace  # same name: the old cluster must go first


def test_a_leaf_domain_label_requests_a_microsoft_certificate_with_status_auto(model_dir: Path):
    run = run_program(dev_config(model_dir, cluster={"ssl": {"leafDomainLabel": "mnist"}}), stack="dev")
    ssl = attach_inputs(run)["properties"]["properties"]["sslConfiguration"]
    assert ssl == {"status": "Auto", "leafDomainLabel": "mnist", "overwriteExistingDomain": False}


def test_an_adopted_workspaces_attach_goes_to_the_workspaces_region(model_dir: Path):
    existing = {
        "subscriptionId": "00000000-0000-4000-8000-00000000000a",
        "resourceGroup": "rg-ml",
        "name": "mlw-x",
    }
    run = run_program(dev_config(model_dir, workspace={"existing": existing}), stack="dev")
    assert attach_inputs(run)["location"] == FAKE_WORKSPACE_LOCATION


# --- outputs and destroy order -------------------------------------------------------------------


def test_the_exported_kubeconfig_is_the_users_never_the_admins(dev: ProgramRun):
    kubeconfig = dev.outputs["kubeconfig"]
    assert kubeconfig.secret
    assert kubeconfig.value == FAKE_USER_KUBECONFIG
    for output in dev.outputs.values():
        assert FAKE_KUBECONFIG not in str(output.value)


def test_destroy_removes_attach_then_device_plugin_then_cluster_then_workspace(dev: ProgramRun):
    # `pulumi destroy` deletes in reverse dependency order: each resource before what it waits for.
    compute, plugin, cluster, workspace = (dev.one(t) for t in (COMPUTE, DEVICE_PLUGIN, CLUSTER, WORKSPACE))
    assert dev.depends_transitively(compute, plugin)
    assert dev.depends_transitively(plugin, cluster)
    assert dev.depends_transitively(cluster, workspace)
    assert not dev.depends_transitively(workspace, cluster)
    assert rpc.is_rpc_secret(dev.one("pulumi:providers:kubernetes").inputs["kubeconfig"])


# --- globally unique names ----------------------------------------------------------------------


class SubscriptionMocks(AzureMocks):
    """The fake Azure, signed in to another subscription."""

    def __init__(self, subscription_id: str) -> None:
        self.subscription_id = subscription_id

    def call(self, args: Any) -> Any:
        result = super().call(args)
        if args.token == "azure-native:authorization:getClientConfig":
            return {**result, "subscriptionId": self.subscription_id}
        return result


GLOBAL_NAMES = {
    "azure-native:storage:StorageAccount": "accountName",
    VAULT: "vaultName",
    "azure-native:containerregistry:Registry": "registryName",
}


def global_names(run: ProgramRun) -> dict[str, str]:
    return {type_: run.one(type_).inputs[key] for type_, key in GLOBAL_NAMES.items()}


def test_two_subscriptions_dev_stacks_get_different_global_names(model_dir: Path, dev: ProgramRun):
    other = run_program(
        dev_config(model_dir), stack="dev", mocks=SubscriptionMocks("0" * 8 + "-1111-4000-8000-" + "0" * 12)
    )
    ours, theirs = global_names(dev), global_names(other)
    for type_ in GLOBAL_NAMES:
        assert ours[type_] != theirs[type_], type_


def test_global_names_are_stable_across_runs_of_one_stack(model_dir: Path, dev: ProgramRun):
    assert global_names(run_program(dev_config(model_dir), stack="dev")) == global_names(dev)


def test_an_explicit_name_suffix_is_used_as_is(model_dir: Path):
    run = run_program(dev_config(model_dir, nameSuffix="team42"), stack="dev")
    for name in global_names(run).values():
        assert name.endswith("team42"), name


def test_a_new_base_image_changes_the_v1_environment_hash_and_nothing_else(
    dev: ProgramRun, model_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    import deployment.azure_common.environment as environment

    monkeypatch.setattr(
        environment, "GPU_BASE_IMAGE", "mcr.microsoft.com/azureml/openmpi5.0-cuda12.5-ubuntu22.04:20260101.v1"
    )
    rebased = run_program(dev_config(model_dir), stack="dev")
    before, after = dev.one(MODEL_DEPLOYMENT_TYPE).inputs, rebased.one(MODEL_DEPLOYMENT_TYPE).inputs
    assert after["environment_hash"] != before["environment_hash"]  # the service is rebuilt
    assert {k: v for k, v in after.items() if k not in ("environment_hash", "__provider")} == {
        k: v for k, v in before.items() if k not in ("environment_hash", "__provider")
    }
