"""A FAKE azureml-core: Azure is unreachable from this machine, so tests run against this double.

Every class the Azure backend calls is `unittest.mock.create_autospec` of the REAL azureml-core
class, so a wrong argument name or a misspelt attribute fails exactly as it would against the
real SDK. Behind the mocks sits an in-memory (optionally file-backed) Azure ML workspace:
registered models, AKS services, their state, keys and logs.

What is real and what is fake:
    real   AksWebservice.deploy_configuration (and its validate_configuration, run on deploy),
           Environment.from_docker_image, InferenceConfig, ContainerResourceRequirements,
           AutoScaler, WebserviceException: all offline code of azureml-core 1.61
    fake   Workspace.get, authentication tokens, Model.list/register/deploy, AksCompute,
           Webservice lookups, wait_for_deployment, update, delete, get_logs, get_keys

Two ways in:
    FakeAzureMl()                     tests in this process; `fake.sdk` is an `AzureSdk`
    fake_sdk_provider_host.py         the real provider host with this fake in place of
                                      azureml-core, keeping the workspace in the JSON file
                                      AMLGPU_FAKE_AZUREML_STATE names, so the test process can
                                      set scenarios and check results.

`service.update(...)` runs azureml-core's own update validation (sdk_update_rules.py) on what
it is sent, as the real `AksWebservice.update` does before its request.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest.mock import create_autospec

from azureml.core import Environment, Model, Workspace
from azureml.core.authentication import (
    AzureCliAuthentication,
    MsiAuthentication,
    ServicePrincipalAuthentication,
)
from azureml.core.compute import AksCompute
from azureml.core.model import InferenceConfig
from azureml.core.webservice import AksWebservice, Webservice
from azureml.core.webservice.aks import AutoScaler, ContainerResourceRequirements
from azureml.exceptions import ComputeTargetException, WebserviceException, WorkspaceException
from fakes.sdk_update_rules import validate_update

from deployment.azureml.sdk import AzureSdk

STATE_FILE_VARIABLE = "AMLGPU_FAKE_AZUREML_STATE"
FAKE_HOST = "fake-aks.invalid"  # .invalid: never resolvable, so nothing mistakes it for Azure

OUTCOMES = ("Healthy", "Failed", "Unhealthy", "timeout")


def default_state(
    subscription_id: str = "00000000-0000-0000-0000-000000000000",
    resource_group: str = "rg-fake",
    workspace_name: str = "mlw-fake",
    compute_name: str = "gpu-aks",
) -> dict[str, Any]:
    return {
        "workspace": {
            "subscription_id": subscription_id,
            "resource_group": resource_group,
            "name": workspace_name,
        },
        "computes": [compute_name],
        "models": [],  # {"name", "version", "tags", "path"}
        "services": {},  # name -> service record (see _new_service)
        "environments": [],  # names of environments used by deployments
        "scenario": {
            "deploy_outcome": "Healthy",
            "update_outcome": "Healthy",
            "logs": "fake service log: server started\nfake service log: init() done",
            # method -> error text; "service_principal" | "managed_identity" | "azure_cli"
            "auth_failures": {},
        },
        "deleted_services": [],
        "wait_timeouts": [],  # timeout_sec of every wait_for_deployment call
    }


WORKSPACE_KEYS = ("subscription_id", "resource_group", "workspace_name", "compute_name")


def state_for(target: Mapping[str, Any]) -> dict[str, Any]:
    """default_state for the workspace and compute a deployment target (or a handle) names."""
    return default_state(**{key: target[key] for key in WORKSPACE_KEYS})


def write_state_file(path: Path, target: Mapping[str, Any]) -> Path:
    """A fake workspace file (AMLGPU_FAKE_AZUREML_STATE) holding `target`'s workspace and compute."""
    path.write_text(json.dumps(state_for(target)))
    return path


class FakeAzureMl:
    """An Azure ML workspace in memory (or in `state_file`) behind autospecced azureml-core."""

    def __init__(self, state: dict[str, Any] | None = None, state_file: Path | None = None) -> None:
        self._state_file = state_file
        self._memory = state if state is not None else (None if state_file else default_state())
        self.wait_gate: threading.Event | None = None  # when set, wait_for_deployment blocks on it
        self._hung: dict[str, threading.Event] = {}
        self.sdk = self._build()

    # -- state --------------------------------------------------------------------------------

    @property
    def state(self) -> dict[str, Any]:
        """A snapshot of the fake workspace (read it; change it with `edit`)."""
        return copy.deepcopy(self._load())

    def edit(self, change: Any) -> None:
        state = self._load()
        change(state)
        self._save(state)

    def set_scenario(self, **values: Any) -> None:
        for key, value in values.items():
            if key.endswith("_outcome") and value not in OUTCOMES:
                raise ValueError(f"{key}: {value!r}; allowed: {', '.join(OUTCOMES)}")
        self.edit(lambda state: state["scenario"].update(values))

    def hang_auth(self, method: str, released: threading.Event) -> None:
        """`method`'s token request blocks until `released` is set (an unreachable endpoint);
        in-process fakes only."""
        self._hung[method] = released

    def add_foreign_service(self, name: str, tags: dict[str, str] | None = None) -> None:
        """A service someone else deployed into the workspace (not created by the backend)."""
        record = _new_service(name, ["someone-elses-model:1"], _settings_record(None), tags or {})
        record["state"] = "Healthy"
        self.edit(lambda state: state["services"].__setitem__(name, record))

    def _load(self) -> dict[str, Any]:
        if self._state_file is None:
            assert self._memory is not None
            return self._memory
        return json.loads(Path(self._state_file).read_text())

    def _save(self, state: dict[str, Any]) -> None:
        if self._state_file is None:
            self._memory = state
            return
        temporary = Path(f"{self._state_file}.tmp")
        temporary.write_text(json.dumps(state, indent=2, sort_keys=True))
        temporary.replace(self._state_file)

    # -- the SDK surface ----------------------------------------------------------------------

    def _build(self) -> AzureSdk:
        workspace_class = create_autospec(Workspace)
        workspace_class.get.side_effect = self._workspace_get

        model_class = create_autospec(Model)
        model_class.list.side_effect = self._model_list
        model_class.register.side_effect = self._model_register
        model_class.deploy.side_effect = self._model_deploy

        environment_class = create_autospec(Environment)
        environment_class.from_docker_image.side_effect = Environment.from_docker_image  # real, offline

        inference_config_class = create_autospec(InferenceConfig)
        inference_config_class.side_effect = InferenceConfig  # real, offline

        aks_webservice_class = create_autospec(AksWebservice)
        aks_webservice_class.deploy_configuration.side_effect = AksWebservice.deploy_configuration  # real

        aks_compute_class = create_autospec(AksCompute)
        aks_compute_class.side_effect = self._aks_compute

        webservice_class = create_autospec(Webservice)
        webservice_class.side_effect = self._webservice

        return AzureSdk(
            Workspace=workspace_class,
            Model=model_class,
            Environment=environment_class,
            InferenceConfig=inference_config_class,
            AksWebservice=aks_webservice_class,
            AksCompute=aks_compute_class,
            Webservice=webservice_class,
            WebserviceException=WebserviceException,
            ServicePrincipalAuthentication=self._auth_class(
                ServicePrincipalAuthentication, "service_principal"
            ),
            MsiAuthentication=self._auth_class(MsiAuthentication, "managed_identity"),
            AzureCliAuthentication=self._auth_class(AzureCliAuthentication, "azure_cli"),
        )

    def _auth_class(self, real_class: type, method: str) -> Any:
        auth_class = create_autospec(real_class)

        def construct(*_args: Any, **_kwargs: Any) -> Any:
            auth = create_autospec(real_class, instance=True)

            def header() -> dict[str, str]:
                hung = self._hung.get(method)
                if hung is not None:
                    hung.wait(timeout=60)
                failure = self._load()["scenario"]["auth_failures"].get(method)
                if failure:
                    raise RuntimeError(failure)
                return {"Authorization": "Bearer fake-token"}

            auth.get_authentication_header.side_effect = header
            return auth

        auth_class.side_effect = construct
        return auth_class

    def _workspace_get(
        self, name: str, auth: Any = None, subscription_id: Any = None, resource_group: Any = None, **_: Any
    ) -> Any:
        known = self._load()["workspace"]
        if (subscription_id, resource_group, name) != (
            known["subscription_id"],
            known["resource_group"],
            known["name"],
        ):
            raise WorkspaceException(f"Workspace not found: {subscription_id}/{resource_group}/{name}")
        if auth is None:
            raise WorkspaceException("fake: the backend must pass the auth object it resolved")
        workspace = create_autospec(Workspace, instance=True)
        workspace.name = name
        workspace.subscription_id = subscription_id
        workspace.resource_group = resource_group
        return workspace

    def _aks_compute(self, workspace: Any, name: str) -> Any:
        if name not in self._load()["computes"]:
            raise ComputeTargetException(f"ComputeTargetNotFound: Compute Target with name {name} not found")
        compute = create_autospec(AksCompute, instance=True)
        compute.name = name
        compute.workspace = workspace
        return compute

    def _model_object(self, workspace: Any, record: dict[str, Any]) -> Any:
        model = create_autospec(Model, instance=True)
        model.name = record["name"]
        model.version = record["version"]
        model.id = f"{record['name']}:{record['version']}"
        model.tags = dict(record["tags"])
        model.workspace = workspace
        return model

    def _model_list(self, workspace: Any, name: Any = None, tags: Any = None, **_: Any) -> list[Any]:
        if tags is not None and not isinstance(tags, list):
            raise TypeError("Model.list tags must be a list, e.g. ['key', ['key2', 'value']]")  # as the SDK
        found = []
        for record in self._load()["models"]:
            if name is not None and record["name"] != name:
                continue
            if not all(_tag_matches(record["tags"], wanted) for wanted in tags or []):
                continue
            found.append(self._model_object(workspace, record))
        return found

    def _model_register(
        self, workspace: Any, model_path: str, model_name: str, tags: Any = None, **_: Any
    ) -> Any:
        if not Path(model_path).exists():
            raise WebserviceException(f"Error, provided model path {model_path} cannot be found")
        state = self._load()
        versions = [m["version"] for m in state["models"] if m["name"] == model_name]
        record = {
            "name": model_name,
            "version": max(versions, default=0) + 1,
            "tags": {str(k): str(v) for k, v in (tags or {}).items()},
            "path": Path(model_path).name,
        }
        state["models"].append(record)
        self._save(state)
        return self._model_object(workspace, record)

    def _model_deploy(
        self,
        workspace: Any,
        name: str,
        models: list[Any],
        inference_config: Any = None,
        deployment_config: Any = None,
        deployment_target: Any = None,
        overwrite: bool = False,
        **_: Any,
    ) -> Any:
        state = self._load()
        if name in state["services"] and not overwrite:
            raise WebserviceException(
                f"Error, there is already a service with name {name} found in workspace"
            )
        if not isinstance(inference_config, InferenceConfig):
            raise WebserviceException("fake: expected a real InferenceConfig (no no-code deployments here)")
        if not isinstance(getattr(deployment_target, "name", None), str):
            raise WebserviceException("fake: expected an AksCompute deployment_target")
        deployment_config.validate_configuration()  # the real SDK validates before deploying
        environment = inference_config.environment
        state["environments"].append(environment.name)
        record = _new_service(
            name,
            [m.id for m in models],
            _settings_record(deployment_config),
            dict(deployment_config.tags or {}),
        )
        record["compute_name"] = deployment_target.name
        record["environment"] = _environment_record(environment)
        record["pending_outcome"] = state["scenario"]["deploy_outcome"]
        record["logs"] = state["scenario"]["logs"]
        state["services"][name] = record
        self._save(state)
        return self._service_object(workspace, name)

    def _webservice(self, workspace: Any, name: str) -> Any:
        if name not in self._load()["services"]:
            raise WebserviceException(
                f"WebserviceNotFound: Webservice with name {name} not found in provided workspace"
            )
        return self._service_object(workspace, name)

    def _service_object(self, workspace: Any, name: str) -> Any:
        """An autospecced AksWebservice whose attributes mirror the record and whose methods
        act on the fake workspace."""
        service = create_autospec(AksWebservice, instance=True)
        service.name = name
        service.workspace = workspace
        self._refresh(service)

        def wait_for_deployment(show_output: bool = False, timeout_sec: Any = None) -> None:
            if self.wait_gate is not None and not self.wait_gate.wait(timeout=30):
                raise AssertionError("fake: wait_gate was never opened")
            self.edit(lambda state: state["wait_timeouts"].append(timeout_sec))
            outcome = self._record(name).get("pending_outcome") or "Healthy"
            if outcome == "timeout":
                self._set(name, state="Transitioning")
                self._refresh(service)
                raise WebserviceException(
                    f"Deployment polling exceeded timeout override of {timeout_sec}s. "
                    "Current status: Transitioning"
                )
            self._set(name, state=outcome, pending_outcome=None)
            self._refresh(service)
            if outcome != "Healthy":
                raise WebserviceException(
                    "Service deployment polling reached non-successful terminal state, "
                    "current service state: "
                    f"{outcome}\nMore information can be found using '.get_logs()'"
                )

        def get_logs(num_lines: int = 5000, init: bool = False) -> str:
            lines = self._record(name)["logs"].splitlines()
            return "\n".join(lines[-num_lines:])

        def get_keys() -> tuple[str, str]:
            record = self._record(name)
            if not record["settings"]["auth_enabled"]:
                raise WebserviceException("fake: key auth is disabled on this service")
            return record["keys"][0], record["keys"][1]

        def update(**arguments: Any) -> None:
            validate_update(service, arguments)  # the real SDK's checks, before any "request"
            self._update(name, arguments)
            self._refresh(service)

        def delete() -> None:
            state = self._load()
            if state["services"].pop(name, None) is not None:
                state["deleted_services"].append(name)
            self._save(state)
            service.state = "Deleting"

        service.wait_for_deployment.side_effect = wait_for_deployment
        service.get_logs.side_effect = get_logs
        service.get_keys.side_effect = get_keys
        service.update.side_effect = update
        service.delete.side_effect = delete
        return service

    def _record(self, name: str) -> dict[str, Any]:
        services = self._load()["services"]
        if name not in services:
            raise WebserviceException(f"WebserviceNotFound: Webservice with name {name} not found")
        return services[name]

    def _set(self, name: str, **values: Any) -> None:
        self.edit(lambda state: state["services"][name].update(values))

    def _refresh(self, service: Any) -> None:
        record = self._record(service.name)
        settings = record["settings"]
        service.state = record["state"]
        service.tags = dict(record["tags"])
        service.scoring_uri = f"http://{FAKE_HOST}/api/v1/service/{service.name}/score"
        service.swagger_uri = f"http://{FAKE_HOST}/api/v1/service/{service.name}/swagger.json"
        service.compute_name = record.get("compute_name")
        service.models = [
            self._model_object(
                service.workspace, {"name": mid.split(":")[0], "version": int(mid.split(":")[1]), "tags": {}}
            )
            for mid in record["model_ids"]
        ]
        service.num_replicas = settings["num_replicas"]
        service.container_resource_requirements = ContainerResourceRequirements(
            cpu=settings["cpu_cores"], memory_in_gb=settings["memory_gb"], gpu=settings["gpu_cores"]
        )
        service.autoscaler = AutoScaler(
            autoscale_enabled=settings["autoscale_enabled"],
            max_replicas=settings["autoscale_max_replicas"],
            min_replicas=settings["autoscale_min_replicas"],
            refresh_period_seconds=1,
            target_utilization=settings["autoscale_target_utilization"],
        )
        service.environment = record.get("environment")  # deployed from an Environment
        service.image = None
        service.auth_enabled = settings["auth_enabled"]
        service.token_auth_enabled = settings["token_auth_enabled"]
        service.scoring_timeout_ms = settings["scoring_timeout_ms"]
        service.max_concurrent_requests_per_container = settings["replica_max_concurrent_requests"]

    def _update(self, name: str, arguments: dict[str, Any]) -> None:
        given = {k: v for k, v in arguments.items() if v is not None}
        if not given:
            raise WebserviceException("No parameters provided to update.")  # as the SDK
        if "models" in given and "inference_config" not in given:
            raise WebserviceException("fake: models without inference_config would be a no-code deployment")
        state = self._load()
        record = state["services"][name]
        settings = record["settings"]
        for key in (
            "num_replicas",
            "cpu_cores",
            "memory_gb",
            "gpu_cores",
            "autoscale_enabled",
            "autoscale_min_replicas",
            "autoscale_max_replicas",
            "autoscale_target_utilization",
            "auth_enabled",
            "token_auth_enabled",
            "scoring_timeout_ms",
            "replica_max_concurrent_requests",
        ):
            if key in given:
                settings[key] = given[key]
        if settings["auth_enabled"] and settings["token_auth_enabled"]:
            raise WebserviceException(
                "Invalid configuration, auth_enabled and token_auth_enabled cannot both be true."
            )
        if "models" in given:
            record["model_ids"] = [m.id for m in given["models"]]
            environment = given["inference_config"].environment
            record["environment"] = _environment_record(environment)
        if "tags" in given:
            record["tags"] = dict(given["tags"])
        record["state"] = "Transitioning"
        record["pending_outcome"] = state["scenario"]["update_outcome"]
        record["logs"] = state["scenario"]["logs"]
        record["updates"].append(sorted(given))
        self._save(state)


def _environment_record(environment: Any) -> dict[str, Any]:
    """What the service was deployed with: the image's base and the container's variables."""
    return {
        "name": environment.name,
        "base_image": environment.docker.base_image,
        "variables": dict(environment.environment_variables or {}),
    }


def _tag_matches(tags: dict[str, str], wanted: Any) -> bool:
    if isinstance(wanted, list):
        key, value = wanted
        return tags.get(key) == value
    return wanted in tags


def _settings_record(config: Any) -> dict[str, Any]:
    def value(name: str, default: Any) -> Any:
        found = getattr(config, name, None) if config is not None else None
        return default if found is None else found

    return {
        "num_replicas": value("num_replicas", 1),
        "cpu_cores": value("cpu_cores", 0.1),
        "memory_gb": value("memory_gb", 0.5),
        "gpu_cores": value("gpu_cores", 0),
        "autoscale_enabled": value("autoscale_enabled", False),
        "autoscale_min_replicas": value("autoscale_min_replicas", 1),
        "autoscale_max_replicas": value("autoscale_max_replicas", 10),
        "autoscale_target_utilization": value("autoscale_target_utilization", 70),
        "auth_enabled": value("auth_enabled", True),
        "token_auth_enabled": value("token_auth_enabled", False),
        "scoring_timeout_ms": value("scoring_timeout_ms", 60000),
        "replica_max_concurrent_requests": value("replica_max_concurrent_requests", 1),
    }


def _new_service(
    name: str, model_ids: list[str], settings: dict[str, Any], tags: dict[str, str]
) -> dict[str, Any]:
    return {
        "name": name,
        "state": "Transitioning",
        "model_ids": model_ids,
        "settings": settings,
        "tags": tags,
        "keys": [f"fake-primary-key-{name}", f"fake-secondary-key-{name}"],
        "logs": "",
        "updates": [],
    }


def file_backed_sdk() -> AzureSdk:
    """The fake backed by the file AMLGPU_FAKE_AZUREML_STATE names (for another process)."""
    state_file = os.environ.get(STATE_FILE_VARIABLE)
    if not state_file:
        raise RuntimeError(f"{STATE_FILE_VARIABLE} is not set; expected the fake workspace's JSON state file")
    return FakeAzureMl(state_file=Path(state_file)).sdk
