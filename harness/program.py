"""Evaluate the Pulumi program (`infra/__main__.py`) under `pulumi.runtime.set_mocks`.

    run = run_program(stack_config("dev"), stack="dev")      # or any dict of config values
    run.one("azure-native:containerservice:ManagedCluster").inputs["agentPoolProfiles"][0]
    run.outputs["kubeconfig"].secret                          # True
    run.one(MODEL_DEPLOYMENT_TYPE).inputs["__provider"]       # what the provider host unpickles

Each evaluation runs in a fresh `contextvars.Context`, so runs don't share the SDK's ambient
state (root stack, config, settings) and a test can evaluate several stacks. The monitor records
every RegisterResource request: type, name, parent, inputs as the engine would receive them
(camelCase, secrets marked by `rpc.is_rpc_secret`), dependencies and property dependencies.

The Azure side is a fake (`AzureMocks`): ids are ARM ids built the way Azure builds them, names
are the explicit names from the inputs, invokes return a fixed subscription/tenant, a fake
kubeconfig, a workspace's storage and online endpoint keys; reads of online endpoints and
deployments answer "not found" (nothing deployed yet; a subclass can answer otherwise). Nothing
here talks to Azure.
"""

from __future__ import annotations

import base64
import contextvars
import json
import runpy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROGRAM = PROJECT_ROOT / "infra" / "__main__.py"
PROJECT = "aml-gpu-inference"
MODEL_DEPLOYMENT_TYPE = "pulumi-python:dynamic/amlgpu:ModelDeployment"
DETACHMENT_TYPE = "pulumi-python:dynamic/amlgpu:ComputeDetachment"
TRAFFIC_DRAIN_TYPE = "pulumi-python:dynamic/amlgpu:TrafficDrain"
# Type tokens of the Azure resources the program registers: the tests' vocabulary.
CLUSTER = "azure-native:containerservice:ManagedCluster"
COMPUTE = "azure-native:machinelearningservices:Compute"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
VAULT = "azure-native:keyvault:Vault"
DEVICE_PLUGIN = "kubernetes:apps/v1:DaemonSet"
K8S_PROVIDER = "pulumi:providers:kubernetes"
EXTENSION = "azure-native:kubernetesconfiguration:Extension"
INSTANCE_TYPE = "kubernetes:amlarc.azureml.com/v1alpha1:InstanceType"
ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
CODE_VERSION = "azure-native:machinelearningservices:CodeVersion"
MODEL_VERSION = "azure-native:machinelearningservices:ModelVersion"
ENVIRONMENT_VERSION = "azure-native:machinelearningservices:EnvironmentVersion"
BLOB = "azure-native:storage:Blob"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
ARM_DEPLOYMENT = "azure-native:resources:Deployment"  # v2's traffic step
NAMESPACE = "kubernetes:core/v1:Namespace"

FAKE_SUBSCRIPTION = "00000000-0000-4000-8000-000000000001"
FAKE_TENANT = "00000000-0000-4000-8000-000000000002"
FAKE_WORKSPACE_GUID = "00000000-0000-4000-8000-0000000000aa"
FAKE_ENDPOINT_KEYS = {"primaryKey": "fake-primary-key-not-a-secret", "secondaryKey": "fake-secondary-key-x"}
FAKE_KUBECONFIG = (
    "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {server: 'https://fake.invalid:443'}\n"
    "users:\n- name: clusterAdmin\n  user: {token: fake-admin-token-not-a-real-secret}\n"
)
FAKE_USER_KUBECONFIG = FAKE_KUBECONFIG.replace("clusterAdmin", "clusterUser").replace("admin", "user")
FAKE_WORKSPACE_LOCATION = "westeurope"  # an adopted workspace's region, unlike the dev stack's

# type token → (ARM provider path, the input that holds the resource's name)
_ARM: dict[str, tuple[str, str]] = {
    "azure-native:storage:StorageAccount": ("Microsoft.Storage/storageAccounts", "accountName"),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault/vaults", "vaultName"),
    "azure-native:operationalinsights:Workspace": (
        "Microsoft.OperationalInsights/workspaces",
        "workspaceName",
    ),
    "azure-native:applicationinsights:Component": ("Microsoft.Insights/components", "resourceName"),
    "azure-native:containerregistry:Registry": ("Microsoft.ContainerRegistry/registries", "registryName"),
    "azure-native:machinelearningservices:Workspace": (
        "Microsoft.MachineLearningServices/workspaces",
        "workspaceName",
    ),
    "azure-native:containerservice:ManagedCluster": (
        "Microsoft.ContainerService/managedClusters",
        "resourceName",
    ),
}


@dataclass(frozen=True)
class Registration:
    """One RegisterResource request, as the engine would have received it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    inputs: dict[str, Any]
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    additional_secret_outputs: tuple[str, ...]
    replace_on_changes: tuple[str, ...] = ()
    delete_before_replace: bool = False
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()
    retain_on_delete: bool = False

    @property
    def depends_on_urns(self) -> set[str]:
        """Every URN this resource waits for: explicit depends_on and its inputs' dependencies."""
        urns = set(self.dependencies)
        for deps in self.property_dependencies.values():
            urns.update(deps)
        return urns


@dataclass(frozen=True)
class StackOutput:
    value: Any
    secret: bool
    known: bool


@dataclass
class ProgramRun:
    """What one evaluation registered and exported."""

    stack: str
    registrations: list[Registration]
    outputs: dict[str, StackOutput]

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str) -> Registration:
        found = self.of_type(type_)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_}, registered {len(found)}: {[r.name for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        for registration in self.registrations:
            if registration.urn == urn:
                return registration
        raise KeyError(urn)

    @property
    def types(self) -> set[str]:
        return {r.type for r in self.registrations}

    def depends_transitively(self, dependent: Registration, dependency: Registration) -> bool:
        """Whether `dependent` waits for `dependency` (directly, through inputs, or via parents'
        dependencies): the order in which `pulumi destroy` deletes them in reverse."""
        seen: set[str] = set()
        todo = [*dependent.depends_on_urns, *([dependent.parent] if dependent.parent else [])]
        while todo:
            urn = todo.pop()
            if urn == dependency.urn:
                return True
            if urn in seen:
                continue
            seen.add(urn)
            try:
                found = self.by_urn(urn)
            except KeyError:
                continue
            todo.extend(found.depends_on_urns)
            if (
                found.parent
            ):  # the engine deletes children before their parent, the parent before what it depends on
                todo.append(found.parent)
        return False


class AzureMocks(pulumi.runtime.Mocks):
    """A fake Azure and Kubernetes: ARM-shaped ids and names, fixed client config and kubeconfig."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        if args.typ == "azure-native:resources:ResourceGroup":
            name = inputs.get("resourceGroupName") or args.name
            return f"/subscriptions/{FAKE_SUBSCRIPTION}/resourceGroups/{name}", {**inputs, "name": name}
        if args.typ == "azure-native:machinelearningservices:Compute":
            name = inputs.get("computeName") or args.name
            workspace = _arm_id(
                inputs.get("resourceGroupName"),
                "Microsoft.MachineLearningServices/workspaces",
                inputs["workspaceName"],
            )
            return f"{workspace}/computes/{name}", {**inputs, "name": name}
        if args.typ in _ARM:
            path, name_key = _ARM[args.typ]
            name = inputs.get(name_key) or args.name
            return _arm_id(inputs.get("resourceGroupName"), path, name), {**inputs, "name": name}
        if args.typ == "azure-native:machinelearningservices:OnlineEndpoint":
            name = inputs["endpointName"]
            uri = f"http://fake-router.invalid/api/v1/endpoint/{name}"
            properties = {
                **inputs["properties"],
                "scoringUri": f"{uri}/score",
                "swaggerUri": f"{uri}/swagger.json",
            }
            return f"{name}-id", {**inputs, "name": name, "properties": properties}
        if args.typ == MODEL_DEPLOYMENT_TYPE:
            # The provider runs only through the real provider host (tests/deployment); here the
            # outputs stay as the program declared them (None until a real create).
            return f"{args.name}-id", inputs
        return f"{args.name}-id", inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict | tuple[dict, list[tuple[str, str]]]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": "fake-client",
                "objectId": "fake-object",
                "subscriptionId": FAKE_SUBSCRIPTION,
                "tenantId": FAKE_TENANT,
            }
        if args.token == "azure-native:containerservice:listManagedClusterAdminCredentials":
            encoded = base64.b64encode(FAKE_KUBECONFIG.encode()).decode()
            return {"kubeconfigs": [{"name": "clusterAdmin", "value": encoded}]}
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            encoded = base64.b64encode(FAKE_USER_KUBECONFIG.encode()).decode()
            return {"kubeconfigs": [{"name": "clusterUser", "value": encoded}]}
        if args.token == "azure-native:machinelearningservices:getWorkspace":
            storage = _arm_id(args.args["resourceGroupName"], "Microsoft.Storage/storageAccounts", "stfake")
            return {
                "workspaceId": FAKE_WORKSPACE_GUID,
                "storageAccount": storage,
                "location": FAKE_WORKSPACE_LOCATION,
            }
        if args.token == "azure-native:containerservice:getManagedCluster":
            # The azure-v2 program reads its own live cluster's VM size; none exists yet.
            return {}, [("", 'Status=404 Code="ResourceNotFound" (fake Azure: no such cluster)')]
        if args.token in (
            "azure-native:machinelearningservices:getOnlineEndpoint",
            "azure-native:machinelearningservices:getOnlineDeployment",
        ):
            # The azure-v2 program reads what the endpoint serves; by default nothing exists yet.
            return {}, [("", 'Status=404 Code="ResourceNotFound" (fake Azure: nothing deployed)')]
        if args.token == "azure-native:machinelearningservices:listOnlineEndpointKeys":
            return dict(FAKE_ENDPOINT_KEYS)
        raise NotImplementedError(f"no mock for invoke {args.token}")


def _arm_id(resource_group: str | None, path: str, name: str) -> str:
    return f"/subscriptions/{FAKE_SUBSCRIPTION}/resourceGroups/{resource_group}/providers/{path}/{name}"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, keeping every RegisterResource request's dependencies."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            outputs = rpc.deserialize_properties(response.object) if response.object else {}
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    custom=request.custom,
                    parent=request.parent,
                    provider=request.provider,
                    inputs=rpc.deserialize_properties(request.object),
                    dependencies=tuple(request.dependencies),
                    property_dependencies={
                        key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                    additional_secret_outputs=tuple(request.additionalSecretOutputs),
                    replace_on_changes=tuple(request.replaceOnChanges),
                    delete_before_replace=request.deleteBeforeReplace,
                    id=response.id,
                    outputs=outputs,
                    ignore_changes=tuple(request.ignoreChanges),
                    retain_on_delete=bool(request.retainOnDelete),
                )
            )
        return response


def stack_config(stack: str) -> dict[str, Any]:
    """The `config:` section of `Pulumi.<stack>.yaml` (needs PyYAML only for YAML beyond flat
    `key: value` lines; the stack files here are JSON-compatible YAML)."""
    import yaml  # PyYAML ships with the program's environment (a dependency of azureml-core)

    data = yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    return dict(data.get("config") or {})


def run_program(
    config: Mapping[str, Any],
    *,
    stack: str = "dev",
    secret_keys: Iterable[str] = (),
    preview: bool = False,
    mocks: pulumi.runtime.Mocks | None = None,
) -> ProgramRun:
    """Evaluate the program for `stack` with `config` (keys with or without the project
    namespace; objects as dicts) and return what it registered and exported.

    Raises whatever the program raised (e.g. `config.ConfigError`).
    """
    return contextvars.Context().run(
        _run, dict(config), stack, tuple(secret_keys), preview, mocks or AzureMocks()
    )


def _run(
    config: dict[str, Any],
    stack: str,
    secret_keys: tuple[str, ...],
    preview: bool,
    mocks: pulumi.runtime.Mocks,
) -> ProgramRun:
    engine_config = {_full_key(key): _engine_value(value) for key, value in config.items()}
    pulumi.runtime.set_all_config(engine_config, [_full_key(key) for key in secret_keys])
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    root = settings.get_root_resource()

    _sync_await(run_pulumi_func(lambda: runpy.run_path(str(PROGRAM), run_name="__main__")))

    exported = dict(root.outputs) if root is not None else {}  # type: ignore[attr-defined]
    return ProgramRun(stack, monitor.registrations, {name: _resolve(v) for name, v in exported.items()})


def _full_key(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def _engine_value(value: Any) -> str:
    """The engine hands config to the program as strings; objects as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, default=str)


def _resolve(value: Any) -> StackOutput:
    output = pulumi.Output.from_input(value)
    return StackOutput(
        value=_sync_await(output.future()),
        secret=bool(_sync_await(output.is_secret())),
        known=bool(_sync_await(output.is_known())),
    )
