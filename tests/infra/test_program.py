"""The whole program under mocks: what each stack registers, with which inputs and dependencies.

Azure is faked by `harness.program.AzureMocks` (ARM-shaped ids, a fake kubeconfig); the program,
its components, config loading and the SDK's registration path are the real ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from config import ConfigError
from deployment.spec import OWNER_TAG
from harness.program import (
    CLUSTER,
    COMPUTE,
    DEVICE_PLUGIN,
    FAKE_KUBECONFIG,
    FAKE_SUBSCRIPTION,
    FAKE_USER_KUBECONFIG,
    K8S_PROVIDER,
    MODEL_DEPLOYMENT_TYPE,
    WORKSPACE,
    AzureMocks,
    ProgramRun,
    run_program,
    stack_config,
)

WORKSPACE_PARTS = (
    "azure-native:resources:ResourceGroup",
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:operationalinsights:Workspace",
    "azure-native:applicationinsights:Component",
    "azure-native:containerregistry:Registry",
    WORKSPACE,
)
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def dev_config(model_dir: Path, **service: Any) -> dict[str, Any]:
    config = stack_config("dev")
    config["aml-gpu-inference:model"] = {"name": "mnist-dnn", "dir": str(model_dir)}
    if service:
        config["aml-gpu-inference:service"] = {**config["aml-gpu-inference:service"], **service}
    return config


@pytest.fixture(scope="module")
def dev(model_dir: Path) -> ProgramRun:
    return run_program(dev_config(model_dir), stack="dev")


def unwrap(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


# --- the dev stack ------------------------------------------------------------------------------


def test_dev_stack_registers_the_workspace_the_gpu_cluster_and_the_deployment(dev: ProgramRun):
    for type_ in (*WORKSPACE_PARTS, CLUSTER, K8S_PROVIDER, DEVICE_PLUGIN, COMPUTE, MODEL_DEPLOYMENT_TYPE):
        dev.one(type_)
    assert dev.one("amlgpu:azure:MlWorkspace").parent.endswith("pulumi:pulumi:Stack::aml-gpu-inference-dev")


def test_the_first_agent_pool_is_the_gpu_pool_with_the_configured_size_and_count(dev: ProgramRun):
    cluster = dev.one(CLUSTER)
    first_pool = cluster.inputs["agentPoolProfiles"][0]
    assert first_pool["vmSize"] == "Standard_NC4as_T4_v3"
    assert first_pool["count"] == 3
    assert first_pool["mode"] == "System"
    assert first_pool["osType"] == "Linux"
    assert cluster.inputs["identity"] == {"type": "SystemAssigned"}


def test_the_workspace_has_a_system_assigned_identity_and_its_dependencies(dev: ProgramRun):
    workspace = dev.one(WORKSPACE)
    assert workspace.inputs["identity"] == {"type": "SystemAssigned"}
    ids = {type_: dev.one(type_).id for type_ in WORKSPACE_PARTS}
    assert workspace.inputs["storageAccount"] == ids["azure-native:storage:StorageAccount"]
    assert workspace.inputs["keyVault"] == ids["azure-native:keyvault:Vault"]
    assert workspace.inputs["applicationInsights"] == ids["azure-native:applicationinsights:Component"]
    assert workspace.inputs["containerRegistry"] == ids["azure-native:containerregistry:Registry"]
    assert dev.one("azure-native:keyvault:Vault").inputs["properties"]["softDeleteRetentionInDays"] == 7


def test_the_compute_attaches_this_stacks_cluster_as_aks(dev: ProgramRun):
    cluster, compute = dev.one(CLUSTER), dev.one(COMPUTE)
    properties = compute.inputs["properties"]
    assert properties["computeType"] == "AKS"
    assert properties["resourceId"] == cluster.id
    assert properties["properties"]["clusterPurpose"] == "DevTest"
    assert properties["properties"]["loadBalancerType"] == "PublicIp"
    assert "sslConfiguration" not in properties["properties"]  # no TLS: azureml-core sends none
    assert compute.inputs["workspaceName"] == dev.one(WORKSPACE).outputs["name"]


def test_destroy_order_is_compute_then_device_plugin_then_cluster(dev: ProgramRun):
    cluster, plugin, compute = dev.one(CLUSTER), dev.one(DEVICE_PLUGIN), dev.one(COMPUTE)
    # Explicit dependencies (depends_on), not only through inputs.
    assert cluster.urn in compute.dependencies
    assert plugin.urn in compute.dependencies
    assert cluster.urn in plugin.dependencies
    assert cluster.urn in compute.property_dependencies["properties"]
    assert not dev.depends_transitively(cluster, compute)
    assert not dev.depends_transitively(plugin, compute)
    deployment = dev.one(MODEL_DEPLOYMENT_TYPE)
    assert compute.urn in deployment.dependencies


def test_device_plugin_runs_a_pinned_image_through_the_clusters_provider(dev: ProgramRun):
    plugin, provider = dev.one(DEVICE_PLUGIN), dev.one(K8S_PROVIDER)
    assert plugin.provider.startswith(provider.urn + "::")
    container = plugin.inputs["spec"]["template"]["spec"]["containers"][0]
    image, _, tag = container["image"].rpartition(":")
    assert image == "nvcr.io/nvidia/k8s-device-plugin"
    assert tag.startswith("v0.17.")
    assert plugin.inputs["metadata"]["namespace"] == "kube-system"
    assert rpc.is_rpc_secret(provider.inputs["kubeconfig"])
    assert unwrap(provider.inputs["kubeconfig"]) == FAKE_KUBECONFIG


def test_every_azure_resource_is_a_child_of_its_component(dev: ProgramRun):
    components = {r.urn: r.type for r in dev.registrations if r.type.startswith("amlgpu:azure:")}
    for registration in dev.registrations:
        if registration.type.startswith(("azure-native:", "kubernetes:", "pulumi:providers:")):
            assert components.get(registration.parent), f"{registration.name} has no component parent"


def test_outputs_and_the_kubeconfig_is_a_secret(dev: ProgramRun):
    outputs = dev.outputs
    assert outputs["kubeconfig"].secret
    assert outputs["kubeconfig"].value == FAKE_USER_KUBECONFIG
    assert outputs["subscription_id"].value == FAKE_SUBSCRIPTION
    assert outputs["resource_group"].value == dev.one("azure-native:resources:ResourceGroup").outputs["name"]
    assert outputs["workspace_name"].value == dev.one(WORKSPACE).outputs["name"]
    assert outputs["workspace_id"].value == dev.one(WORKSPACE).id
    assert outputs["cluster_name"].value == dev.one(CLUSTER).outputs["name"]
    assert outputs["compute_name"].value == dev.one(COMPUTE).outputs["name"]
    for name in ("scoring_uri", "swagger_uri", "health_uri", "state", "model_id", "model_version"):
        assert name in outputs
    for name in ("subscription_id", "resource_group", "workspace_name", "cluster_name", "compute_name"):
        assert not outputs[name].secret, name


def test_the_deployment_targets_this_stacks_workspace_and_compute_with_the_how_tos_settings(dev: ProgramRun):
    deployment = dev.one(MODEL_DEPLOYMENT_TYPE)
    target = deployment.inputs["target"]
    assert deployment.inputs["backend"] == "azureml"
    assert target["subscription_id"] == FAKE_SUBSCRIPTION
    assert target["workspace_name"] == dev.one(WORKSPACE).outputs["name"]
    assert target["compute_name"] == dev.one(COMPUTE).outputs["name"]
    settings = deployment.inputs["settings"]
    assert (settings["replicas"], settings["cpu_cores"], settings["memory_gb"], settings["gpu_cores"]) == (
        3,
        2,
        4,
        1,
    )
    assert settings["autoscale"]["enabled"] is False
    assert settings["auth"] == "key"
    assert deployment.inputs["environment_file"].endswith("model_service/environment.yml")
    assert deployment.inputs["tags"] == {
        "owner": "ml-platform",
        "expires-on": "2026-12-31",
        OWNER_TAG: "aml-gpu-inference/dev",  # the stack that owns the service (spec.OWNER_TAG)
    }
    assert set(deployment.additional_secret_outputs) >= {"primary_key", "secondary_key"}


def test_azure_names_are_valid_for_each_resource_type(dev: ProgramRun):
    storage = dev.one("azure-native:storage:StorageAccount").inputs["accountName"]
    assert 3 <= len(storage) <= 24 and storage.isalnum() and storage.islower()
    vault = dev.one("azure-native:keyvault:Vault").inputs["vaultName"]
    assert 3 <= len(vault) <= 24 and vault[0].isalpha() and "--" not in vault
    registry = dev.one("azure-native:containerregistry:Registry").inputs["registryName"]
    assert 5 <= len(registry) <= 50 and registry.isalnum()
    assert len(dev.one(WORKSPACE).inputs["workspaceName"]) <= 33
    assert 2 <= len(dev.one(COMPUTE).inputs["computeName"]) <= 16


def test_names_stay_valid_and_differ_for_a_long_odd_stack_name(model_dir: Path, dev: ProgramRun):
    run = run_program(dev_config(model_dir), stack="Team.Feature_Branch-With-A-Very-Long-Name-2026")
    storage = run.one("azure-native:storage:StorageAccount").inputs["accountName"]
    assert len(storage) <= 24 and storage.isalnum() and storage.islower()
    vault = run.one("azure-native:keyvault:Vault").inputs["vaultName"]
    assert len(vault) <= 24 and vault.replace("-", "").isalnum() and not vault.endswith("-")
    assert len(run.one(WORKSPACE).inputs["workspaceName"]) <= 33
    assert storage != dev.one("azure-native:storage:StorageAccount").inputs["accountName"]


def test_only_api_version_aliases_are_dropped(dev: ProgramRun):
    # The SDK sends no alias for a resource whose API-version aliases were dropped.
    import pulumi

    from aliases import _is_api_version_alias

    assert _is_api_version_alias(pulumi.Alias(type_="azure-native:containerservice/v20170831:ManagedCluster"))
    assert _is_api_version_alias(pulumi.Alias(type_="azure-native:storage/v20230101:StorageAccount"))
    assert not _is_api_version_alias(pulumi.Alias(type_="azure-native:containerservice:ManagedCluster"))
    assert not _is_api_version_alias(pulumi.Alias(name="old-name"))


# --- other stacks -------------------------------------------------------------------------------


def test_local_target_declares_no_azure_resource(model_dir: Path):
    run = run_program({"target": "local", "model": {"dir": str(model_dir)}}, stack="local")
    assert run.types == {MODEL_DEPLOYMENT_TYPE}
    deployment = run.one(MODEL_DEPLOYMENT_TYPE)
    assert deployment.inputs["backend"] == "local"
    assert deployment.inputs["environment_file"].endswith("model_service/requirements.txt")
    assert "kubeconfig" not in run.outputs and "primary_key" not in run.outputs
    assert deployment.inputs["__provider"]  # the pickled provider other tests hand the provider host


def test_the_scoring_settings_reach_the_deployments_inputs_on_local_and_azure(
    model_dir: Path, dev: ProgramRun
):
    local = run_program(
        {
            "target": "local",
            "model": {"dir": str(model_dir)},
            "scoring": {"maxBatch": 2, "forward": "tensorflow"},
        },
        stack="local",
    )

    assert local.one(MODEL_DEPLOYMENT_TYPE).inputs["scoring"] == {
        "max_batch": 2,
        "max_body_bytes": 32 * 1024**2,
        "warmup_batches": [1, 2],
        "tf_threads": 1,
        "forward": "tensorflow",
        "gpu_min_batch": 64,
    }  # require_gpu absent: the target decides (local: the scorer's default, false)
    inputs = dev.one(MODEL_DEPLOYMENT_TYPE).inputs
    assert inputs["scoring"]["max_batch"] == 1024 and inputs["scoring"]["warmup_batches"] == [1, 8, 256, 1024]
    # The how-to's 2 cores, 4 GB and a GPU: 1 worker, and as many requests at once per replica.
    assert inputs["settings"]["max_concurrent_requests_per_replica"] == 1


def test_the_repos_local_stack_file_evaluates(model_dir: Path):
    config = stack_config("local")
    config.setdefault("aml-gpu-inference:model", {"dir": str(model_dir)})
    run = run_program(config, stack="local")
    assert run.types == {MODEL_DEPLOYMENT_TYPE}


def test_adopting_a_workspace_declares_none_of_its_parts(model_dir: Path):
    config = dev_config(model_dir)
    existing = {
        "subscriptionId": "00000000-0000-4000-8000-00000000000a",
        "resourceGroup": "rg-ml",
        "name": "mlw-x",
    }
    config["aml-gpu-inference:workspace"] = {"existing": existing}
    run = run_program(config, stack="dev")
    assert not run.types & set(WORKSPACE_PARTS)
    compute = run.one(COMPUTE)
    assert (compute.inputs["resourceGroupName"], compute.inputs["workspaceName"]) == ("rg-ml", "mlw-x")
    # The cluster and the attach go to the adopted workspace's subscription.
    provider = run.one("pulumi:providers:azure-native")
    assert provider.inputs["subscriptionId"] == existing["subscriptionId"]
    for registration in (run.one(CLUSTER), compute):
        assert registration.provider.startswith(provider.urn + "::"), registration.name
    assert run.outputs["workspace_id"].value.endswith(
        "/resourceGroups/rg-ml/providers/Microsoft.MachineLearningServices/workspaces/mlw-x"
    )


def test_ssl_certificate_and_key_reach_the_compute_only_as_secrets(model_dir: Path):
    config = dev_config(model_dir)
    config["aml-gpu-inference:cluster"] = {
        **config["aml-gpu-inference:cluster"],
        "ssl": {"cname": "ml.example.com"},
    }
    config["aml-gpu-inference:sslCertificate"] = PEM_CERT
    config["aml-gpu-inference:sslKey"] = PEM_KEY
    run = run_program(config, stack="dev", secret_keys=("sslCertificate", "sslKey"))
    properties = run.one(COMPUTE).inputs["properties"]
    assert rpc.is_rpc_secret(properties)  # the secret taints the whole property on its way to state
    ssl = unwrap(properties)["properties"]["sslConfiguration"]
    assert (ssl["cert"], ssl["key"], ssl["cname"]) == (PEM_CERT, PEM_KEY, "ml.example.com")
    for output in run.outputs.values():
        assert "PRIVATE KEY" not in str(output.value)


class CountingMocks(AzureMocks):
    def __init__(self) -> None:
        self.created: list[str] = []

    def new_resource(self, args: Any) -> tuple[str | None, dict]:
        self.created.append(args.typ)
        return super().new_resource(args)


def test_invalid_config_stops_the_program_before_any_resource_with_every_problem(model_dir: Path):
    mocks = CountingMocks()
    config = dev_config(model_dir, replicas=4, name="Bad_Name")
    config["aml-gpu-inference:cluster"] = {"vmSize": "Standard_NC6s_v3", "nodeCount": 3}
    with pytest.raises(ConfigError) as caught:
        run_program(config, stack="dev", mocks=mocks)
    assert mocks.created == []
    assert [p.key for p in caught.value.problems] == ["cluster.vmSize", "service.name"]


def test_pool_too_small_for_the_replicas_is_reported_by_the_program(model_dir: Path):
    mocks = CountingMocks()
    with pytest.raises(ConfigError, match=r"service\.replicas = 4: ≤ 3: 4 × 1 GPU = 4 GPUs"):
        run_program(dev_config(model_dir, replicas=4), stack="dev", mocks=mocks)
    assert mocks.created == []
