"""Opt-in LIVE suite: a throwaway Azure stack, brought up and destroyed with the Automation API.

Marked `live`. It runs only when everything below is present; otherwise it is reported as
SKIPPED with the missing items named (never as passed). `pytest -m "not live"` deselects it. Needs:
    AZURE_SUBSCRIPTION_ID                                   the subscription to bill
    AZURE_CLIENT_ID + AZURE_TENANT_ID + AZURE_CLIENT_SECRET a service principal (Contributor on
                                                            the subscription), or AMLGPU_LIVE_AZ_CLI=1
                                                            to use an `az login` session
    a `pulumi` CLI as scripts/pulumi_cli.py finds it       (on PATH, .tools/bin or .pulumi-cli)
    the trained model in artifacts/model                   (`make model`)

It costs money (3 x Standard_NC4as_T4_v3 while it runs, ~30-60 min) and needs GPU quota in the
region (AMLGPU_LIVE_LOCATION, default eastus). The stack state lives in a temporary file backend.

    up      workspace + GPU AKS + compute attach + the model deployment (the dev stack's settings)
    query   the how-to's sample query against scoring_uri with the primary key
    updates one `up` per kind of change issue 13 names, each followed by a query:
            replicas; autoscale on, its max, its min, its target, off; CPU and memory; auth
            key -> token -> key; a stack tag (the key vault keeps the workspace identity's access
            policy); the node count (the attach is not touched); then a preview of a GPU VM
            size change, which must show the cluster replaced (not applied: it costs a rebuild)
    destroy and check that the stack's resource group is gone

The adoption case (test_adopted_cluster_outlives_destroy) also needs AMLGPU_LIVE_ADOPT_CLUSTER_ID:
the resource id of an existing AKS cluster, in the subscription, whose first pool has GPUs for 3
replicas and runs an NVIDIA device plugin. The stack attaches it (`cluster.existing.clusterId`),
deploys, queries, destroys, and the cluster must still exist, with the attach gone.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.pulumi_cli import CliFinder, CliNotFound, sdk_version

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SERVICE_PRINCIPAL = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET")
CLUSTER = "azure-native:containerservice:ManagedCluster"
COMPUTE = "azure-native:machinelearningservices:Compute"


def _missing_prerequisites() -> list[str]:
    missing = []
    if not os.environ.get("AZURE_SUBSCRIPTION_ID"):
        missing.append("AZURE_SUBSCRIPTION_ID is not set")
    has_principal = all(os.environ.get(name) for name in SERVICE_PRINCIPAL)
    if not has_principal and os.environ.get("AMLGPU_LIVE_AZ_CLI") != "1":
        missing.append(
            "no credentials: set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET or AMLGPU_LIVE_AZ_CLI=1"
        )
    if _pulumi_root() is None:
        missing.append("no pulumi CLI >= the SDK on PATH, in .tools/bin (make pulumi-cli) or .pulumi-cli")
    if not (PROJECT_ROOT / "artifacts" / "model" / "saved_model.pb").exists():
        missing.append("no trained model in artifacts/model (make model)")
    return missing


def _pulumi_root() -> Path | None:
    """The root (<root>/bin/pulumi) of the CLI the project would use; nothing is installed here."""
    try:
        found = CliFinder(sdk=sdk_version()).find(lambda _line: None)
    except CliNotFound:
        return None
    return found.path.parent.parent


_MISSING = _missing_prerequisites()
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(bool(_MISSING), reason="live Azure suite: " + "; ".join(_MISSING)),
]


def _stack_config(location: str) -> dict[str, Any]:
    """The dev stack's config, in a region of choice, with an expiry tag for the cost guard."""
    dev = yaml.safe_load((PROJECT_ROOT / "Pulumi.dev.yaml").read_text())["config"]
    dev["azure-native:location"] = location
    dev["aml-gpu-inference:location"] = location
    dev["aml-gpu-inference:namePrefix"] = "amlgpulive"
    dev["aml-gpu-inference:model"] = {"name": "mnist-dnn", "dir": "artifacts/model"}
    return dev


def _score(uri: str, key: str | None) -> Any:
    body = json.dumps({"data": [[0.0] * 784, [1.0] * 784]}).encode()
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(uri, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def _resource_group_exists(name: str) -> bool:
    from azure.mgmt.resource import ResourceManagementClient

    client = ResourceManagementClient(_credential(), os.environ["AZURE_SUBSCRIPTION_ID"])
    return bool(client.resource_groups.check_existence(name))


def _credential() -> Any:
    from deployment.azure_common.auth import resolve_auth
    from deployment.azureml.sdk import real_sdk

    return resolve_auth(real_sdk(), os.environ)  # azureml auth objects implement get_token


def _vault_policy_object_ids(resource_group: str) -> set[str]:
    from azure.mgmt.keyvault import KeyVaultManagementClient

    client = KeyVaultManagementClient(_credential(), os.environ["AZURE_SUBSCRIPTION_ID"])
    (vault,) = client.vaults.list_by_resource_group(resource_group)
    return {policy.object_id for policy in vault.properties.access_policies or []}


# (config path under aml-gpu-inference, value): one `up` each, in this order; the service must
# stay Healthy and answer after each.
UPDATES: list[tuple[str, str]] = [
    ("service.replicas", "2"),
    ("service.autoscale.enabled", "true"),  # with min/max/target set just before
    ("service.autoscale.maxReplicas", "2"),
    ("service.autoscale.minReplicas", "2"),
    ("service.autoscale.targetUtilization", "60"),
    ("service.autoscale.enabled", "false"),
    ("service.cpuCores", "1.5"),
    ("service.memoryGb", "3"),
    ("service.tokenAuthEnabled", "true"),  # with authEnabled false just before
    ("service.tokenAuthEnabled", "false"),  # with authEnabled true just after
]


def _ops_by_type(stack: Any) -> dict[str, set[str]]:
    """What a preview would do, per resource type."""
    ops: dict[str, set[str]] = {}

    def record(event: Any) -> None:
        pre = getattr(event, "resource_pre_event", None)
        if pre is not None:
            ops.setdefault(pre.metadata.type, set()).add(str(pre.metadata.op.value))

    stack.preview(on_event=record)
    return ops


def _apply_updates(stack: Any, auto: Any) -> None:
    def set_value(path: str, value: str) -> None:
        stack.set_config(f"aml-gpu-inference:{path}", auto.ConfigValue(value), path=True)

    for path, value in UPDATES:
        if path == "service.autoscale.enabled" and value == "true":
            set_value("service.autoscale.minReplicas", "1")
            set_value("service.autoscale.maxReplicas", "3")
        if path == "service.tokenAuthEnabled" and value == "true":
            set_value("service.authEnabled", "false")
        set_value(path, value)
        if path == "service.tokenAuthEnabled" and value == "false":
            set_value("service.authEnabled", "true")
        outputs = {name: output.value for name, output in stack.up(on_output=print).outputs.items()}
        assert outputs["state"] == "Healthy", f"after {path}={value}"
        if outputs.get("primary_key"):
            _score(outputs["scoring_uri"], outputs["primary_key"])


def _throwaway_stack(stack_name: str, state_dir: Path) -> Any:
    """The Automation API stack of Pulumi.<stack_name>.yaml, its state in a file backend."""
    from pulumi import automation as auto

    env = {
        "PULUMI_BACKEND_URL": f"file://{state_dir}",
        "PULUMI_CONFIG_PASSPHRASE": "",  # throwaway stack: the state holds keys only as secrets
        "ARM_SUBSCRIPTION_ID": os.environ["AZURE_SUBSCRIPTION_ID"],
    }
    for name, arm_name in zip(
        SERVICE_PRINCIPAL, ("ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_CLIENT_SECRET"), strict=True
    ):
        if os.environ.get(name):
            env[arm_name] = os.environ[name]
    root = _pulumi_root()
    command = auto.PulumiCommand(root=str(root)) if root else None
    return auto.create_or_select_stack(
        stack_name=stack_name,
        work_dir=str(PROJECT_ROOT),
        opts=auto.LocalWorkspaceOptions(env_vars=env, pulumi_command=command),
    )


def test_up_query_destroy_leaves_no_resource_group(tmp_path: Path):
    from pulumi import automation as auto

    stack_name = f"live{uuid.uuid4().hex[:6]}"
    stack_file = PROJECT_ROOT / f"Pulumi.{stack_name}.yaml"
    stack_file.write_text(
        yaml.safe_dump({"config": _stack_config(os.environ.get("AMLGPU_LIVE_LOCATION", "eastus"))})
    )
    stack = _throwaway_stack(stack_name, tmp_path)
    resource_group = None
    try:
        up = stack.up(on_output=print)
        outputs = {name: output.value for name, output in up.outputs.items()}
        resource_group = outputs["resource_group"]
        assert outputs["state"] == "Healthy"
        assert up.outputs["primary_key"].secret

        predictions = _score(outputs["scoring_uri"], outputs.get("primary_key"))
        assert len(predictions) == 2 and all(0 <= int(p) <= 9 for p in predictions)

        summary = stack.preview().change_summary  # a second look changes nothing
        assert set(summary) <= {"same"}, summary

        _apply_updates(stack, auto)

        policies = _vault_policy_object_ids(resource_group)
        assert policies, "the workspace identity's access policy is missing from the key vault"
        stack.set_config("aml-gpu-inference:tags.team", auto.ConfigValue("live-suite"), path=True)
        stack.up(on_output=print)
        assert _vault_policy_object_ids(resource_group) >= policies, "a tag update dropped vault policies"

        stack.set_config("aml-gpu-inference:cluster.nodeCount", auto.ConfigValue("4"), path=True)
        ops = _ops_by_type(stack)
        assert not ops.get(COMPUTE, set()) - {"same"}, f"a node-count change touches the attach: {ops}"
        stack.up(on_output=print)

        stack.set_config(
            "aml-gpu-inference:cluster.vmSize", auto.ConfigValue("Standard_NC8as_T4_v3"), path=True
        )
        ops = _ops_by_type(stack)
        assert ops.get(CLUSTER, set()) & {"replace", "delete-replaced", "create-replacement"}, ops
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(stack_name)
        stack_file.unlink(missing_ok=True)
    if resource_group:
        assert not _resource_group_exists(resource_group), f"{resource_group} still exists after destroy"


ADOPT_CLUSTER_ID = os.environ.get("AMLGPU_LIVE_ADOPT_CLUSTER_ID")
AKS_API_VERSION = "2025-05-01"


@pytest.mark.skipif(not ADOPT_CLUSTER_ID, reason="live adoption case: no AMLGPU_LIVE_ADOPT_CLUSTER_ID")
def test_adopted_cluster_outlives_destroy(tmp_path: Path):
    from azure.mgmt.resource import ResourceManagementClient

    stack_name = f"liveadopt{uuid.uuid4().hex[:6]}"
    config = _stack_config(os.environ.get("AMLGPU_LIVE_LOCATION", "eastus"))
    config["aml-gpu-inference:cluster"] = {"existing": {"clusterId": ADOPT_CLUSTER_ID}, "purpose": "DevTest"}
    stack_file = PROJECT_ROOT / f"Pulumi.{stack_name}.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}))
    stack = _throwaway_stack(stack_name, tmp_path)
    try:
        ops = _ops_by_type(stack)
        assert CLUSTER not in ops, f"an adopted cluster must not be declared: {ops}"
        outputs = {name: output.value for name, output in stack.up(on_output=print).outputs.items()}
        assert outputs["state"] == "Healthy"
        predictions = _score(outputs["scoring_uri"], outputs.get("primary_key"))
        assert len(predictions) == 2
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(stack_name)
        stack_file.unlink(missing_ok=True)
    client = ResourceManagementClient(_credential(), os.environ["AZURE_SUBSCRIPTION_ID"])
    assert client.resources.get_by_id(ADOPT_CLUSTER_ID, AKS_API_VERSION).id, "the adopted cluster is gone"
