"""The Azure ML SDK v1 (azureml-core) backend: the how-to's deployment to an attached AKS compute.

    create  Workspace.get → Model.list/Model.register (reused by content hash) → Environment on
            the pinned GPU base image → InferenceConfig → AksWebservice.deploy_configuration →
            Model.deploy(deployment_target=AksCompute) → wait_for_deployment → keys
    update  service.update(...) with only what changed → wait
    read    Webservice(ws, name); not found, or not ours, reads as gone
    delete  service.delete(); not found is success; a service that is not ours is never touched

Nothing is resolved in `__init__`: the provider constructs `AzureMlBackend()` at call time and
the credentials (azure_auth.py) and the SDK are looked up per operation, so nothing the SDK
pickles into state holds a credential or a client.

Ownership: every service this backend creates carries the tags OWNER_TAG and DEPLOYMENT_ID_TAG
(a fresh id per create), and `LiveDeployment.handle` records them. A service of the same name
without our deployment id is someone else's: create refuses it, read reports ours as gone,
update refuses, delete leaves it alone.

The SDK is the real azureml-core unless the environment variable AMLGPU_AZUREML_SDK names a
test double (a module name or a .py file path) whose `azureml_sdk()` returns the same names;
the variable survives the provider's serialization because it is read at call time.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployment.azure_auth import resolve_auth
from deployment.azure_environment import build_environment, build_inference_config
from deployment.backend import DeploymentFailed, LiveDeployment, Progress
from deployment.settings import ServiceSettings
from deployment.spec import OWNER_TAG

if TYPE_CHECKING:
    from deployment.spec import DeploymentSpec

SDK_MODULE_VARIABLE = "AMLGPU_AZUREML_SDK"
WAIT_TIMEOUT_VARIABLE = "AMLGPU_AZUREML_WAIT_TIMEOUT_S"
# A first deployment builds the CUDA image with TensorFlow (often 15-25 minutes) before pods start.
DEFAULT_WAIT_TIMEOUT_S = 2700.0
DEFAULT_PROGRESS_INTERVAL_S = 30.0
LOG_TAIL_LINES = 100

MODEL_HASH_TAG = "content_sha256"
DEFAULT_OWNER = "aml-gpu-inference"
DEPLOYMENT_ID_TAG = "amlgpu-deployment-id"
SOURCE_HASH_TAG = "source_sha256"
ENVIRONMENT_HASH_TAG = "environment_sha256"

HEALTHY = "Healthy"
_TARGET_FIELDS = ("subscription_id", "resource_group", "workspace_name", "compute_name")


@dataclass(frozen=True)
class AzureSdk:
    """The azureml-core names this backend calls (the real classes, or autospecced doubles)."""

    Workspace: Any
    Model: Any
    Environment: Any
    InferenceConfig: Any
    AksWebservice: Any
    AksCompute: Any
    Webservice: Any
    WebserviceException: type[Exception]
    ServicePrincipalAuthentication: Any
    MsiAuthentication: Any
    AzureCliAuthentication: Any


def real_sdk() -> AzureSdk:
    # Imported here: azureml-core takes seconds to import and only the Azure target needs it.
    from azureml.core import Environment, Model, Workspace
    from azureml.core.authentication import (
        AzureCliAuthentication,
        MsiAuthentication,
        ServicePrincipalAuthentication,
    )
    from azureml.core.compute import AksCompute
    from azureml.core.model import InferenceConfig
    from azureml.core.webservice import AksWebservice, Webservice
    from azureml.exceptions import WebserviceException

    return AzureSdk(
        Workspace=Workspace,
        Model=Model,
        Environment=Environment,
        InferenceConfig=InferenceConfig,
        AksWebservice=AksWebservice,
        AksCompute=AksCompute,
        Webservice=Webservice,
        WebserviceException=WebserviceException,
        ServicePrincipalAuthentication=ServicePrincipalAuthentication,
        MsiAuthentication=MsiAuthentication,
        AzureCliAuthentication=AzureCliAuthentication,
    )


def load_sdk(environ: Mapping[str, str]) -> AzureSdk:
    """The real azureml-core, or the test double that AMLGPU_AZUREML_SDK names."""
    override = environ.get(SDK_MODULE_VARIABLE)
    if not override:
        return real_sdk()
    module = _import_override(override)
    factory = getattr(module, "azureml_sdk", None)
    if not callable(factory):
        raise ValueError(
            f"{SDK_MODULE_VARIABLE}={override!r}: the module has no azureml_sdk() function; "
            "expected a test double exposing azureml_sdk() -> AzureSdk"
        )
    return factory()


def _import_override(override: str) -> Any:
    if override.endswith(".py"):
        path = Path(override)
        if not path.is_file():
            raise ValueError(f"{SDK_MODULE_VARIABLE}={override!r}: no such file")
        name = f"_amlgpu_sdk_override_{abs(hash(str(path.resolve())))}"
        if name in sys.modules:  # one module per host process: the double keeps its state
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(override)


# ---------------------------------------------------------------------------------------------
# Pure translations from our settings to azureml-core arguments (tested directly)


def deploy_configuration_arguments(settings: ServiceSettings, tags: Mapping[str, str]) -> dict[str, Any]:
    """The keyword arguments of `AksWebservice.deploy_configuration` for these settings.

    Autoscale arguments appear only when autoscale is enabled (the SDK rejects them otherwise),
    and `num_replicas` only when it is disabled (the SDK rejects both together).
    """
    arguments: dict[str, Any] = {
        "cpu_cores": settings.cpu_cores,
        "memory_gb": settings.memory_gb,
        "gpu_cores": settings.gpu_cores,
        "auth_enabled": settings.auth == "key",
        "token_auth_enabled": settings.auth == "token",
        "scoring_timeout_ms": settings.scoring_timeout_ms,
        "replica_max_concurrent_requests": settings.max_concurrent_requests_per_replica,
        "tags": dict(tags),
    }
    arguments.update(_scaling_arguments(settings))
    return arguments


def _scaling_arguments(settings: ServiceSettings) -> dict[str, Any]:
    if settings.autoscale.enabled:
        return {
            "autoscale_enabled": True,
            "autoscale_min_replicas": settings.autoscale.min_replicas,
            "autoscale_max_replicas": settings.autoscale.max_replicas,
            "autoscale_target_utilization": settings.autoscale.target_utilization,
        }
    return {"autoscale_enabled": False, "num_replicas": settings.replicas}


def settings_update_arguments(old: ServiceSettings, new: ServiceSettings) -> dict[str, Any]:
    """The keyword arguments of `AksWebservice.update` that turn `old` into `new`: only what changed.

    `AksWebservice.update` ignores falsy values (it tests `if gpu_cores:`), so a GPU count
    lowered to 0 cannot be expressed as an update; that raises `DeploymentFailed`.
    """
    arguments: dict[str, Any] = {}
    if old.autoscale != new.autoscale or (not new.autoscale.enabled and old.replicas != new.replicas):
        if old.autoscale.enabled == new.autoscale.enabled:
            scaling = _scaling_arguments(new)
            previous = _scaling_arguments(old)
            arguments.update({k: v for k, v in scaling.items() if previous.get(k) != v})
        else:
            arguments.update(_scaling_arguments(new))
    for name, old_value, new_value in (
        ("cpu_cores", old.cpu_cores, new.cpu_cores),
        ("memory_gb", old.memory_gb, new.memory_gb),
        ("gpu_cores", old.gpu_cores, new.gpu_cores),
        ("scoring_timeout_ms", old.scoring_timeout_ms, new.scoring_timeout_ms),
        (
            "replica_max_concurrent_requests",
            old.max_concurrent_requests_per_replica,
            new.max_concurrent_requests_per_replica,
        ),
    ):
        if old_value != new_value:
            arguments[name] = new_value
    if arguments.get("gpu_cores") == 0:
        raise DeploymentFailed(
            f"gpu_cores: {old.gpu_cores} -> 0 cannot be applied in place (AksWebservice.update "
            "skips a zero GPU count); deploy under a new service name to drop the GPU"
        )
    if old.auth != new.auth:
        arguments["auth_enabled"] = new.auth == "key"
        arguments["token_auth_enabled"] = new.auth == "token"
    return arguments


def live_settings(service: Any, configured: ServiceSettings) -> dict[str, Any]:
    """The service's settings as read back, in `ServiceSettings.to_dict()` shape, for drift.

    Only what is meaningful is read from the service: with autoscale off the autoscaler's
    bounds are inert (AKS reports its own defaults), with autoscale on the replica count is the
    autoscaler's, so those come from `configured` and never show as drift. A value the service
    does not report is also taken from `configured`: the provider rebuilds settings from this.
    """
    resources = getattr(service, "container_resource_requirements", None)
    autoscaler = getattr(service, "autoscaler", None)
    autoscale_enabled = bool(getattr(autoscaler, "autoscale_enabled", False))

    def read(owner: Any, name: str, fallback: Any) -> Any:
        value = getattr(owner, name, None)
        return fallback if value is None else value

    autoscale = configured.autoscale
    return {
        "replicas": configured.replicas
        if autoscale_enabled
        else read(service, "num_replicas", configured.replicas),
        "cpu_cores": read(resources, "cpu", configured.cpu_cores),
        "memory_gb": read(resources, "memory_in_gb", configured.memory_gb),
        "gpu_cores": read(resources, "gpu", configured.gpu_cores),
        "autoscale": {
            "enabled": autoscale_enabled,
            "min_replicas": read(autoscaler, "min_replicas", autoscale.min_replicas)
            if autoscale_enabled
            else autoscale.min_replicas,
            "max_replicas": read(autoscaler, "max_replicas", autoscale.max_replicas)
            if autoscale_enabled
            else autoscale.max_replicas,
            "target_utilization": read(autoscaler, "target_utilization", autoscale.target_utilization)
            if autoscale_enabled
            else autoscale.target_utilization,
        },
        "auth": _auth_of(service),
        "scoring_timeout_ms": read(service, "scoring_timeout_ms", configured.scoring_timeout_ms),
        "max_concurrent_requests_per_replica": read(
            service, "max_concurrent_requests_per_container", configured.max_concurrent_requests_per_replica
        ),
    }


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Session:
    sdk: AzureSdk
    workspace: Any


class AzureMlBackend:
    """`Backend` (backend.py) over azureml-core. See the module docstring for the flow.

    `sdk` and `environ` exist for tests; the provider passes neither, and then both are resolved
    per call (`os.environ`, `load_sdk`).
    """

    def __init__(
        self,
        sdk: AzureSdk | None = None,
        environ: Mapping[str, str] | None = None,
        progress_interval_s: float = DEFAULT_PROGRESS_INTERVAL_S,
    ) -> None:
        self._sdk = sdk
        self._environ = environ
        self._progress_interval_s = progress_interval_s

    # -- Backend ------------------------------------------------------------------------------

    def create(self, spec: DeploymentSpec, progress: Progress) -> LiveDeployment:
        """Register (or reuse) the model, deploy to the AKS compute, wait until Healthy.

        Transactional: a service that does not become Healthy within the timeout is deleted
        again and `DeploymentFailed` carries the tail of its logs. A service of the same name
        that exists already is an error and is left untouched.
        """
        target = _target(spec)
        self._wait_timeout_s()  # a bad timeout setting fails before anything is deployed
        session = self._session(target)
        existing = self._get_service(session, spec.service_name)
        if existing is not None:
            raise DeploymentFailed(_occupied_message(spec.service_name, target, existing))

        handle = {
            **target,
            "service_name": spec.service_name,
            "owner": _owner(spec),
            "deployment_id": uuid.uuid4().hex,
        }
        # Built first: the SDK validates the settings here, before anything is registered.
        try:
            configuration = session.sdk.AksWebservice.deploy_configuration(
                **deploy_configuration_arguments(_settings(spec), _service_tags(spec, handle))
            )
        except session.sdk.WebserviceException as error:
            raise DeploymentFailed(
                f"settings: rejected by AksWebservice.deploy_configuration: {_message(error).strip()}"
            ) from error
        inference_config = self._inference_config(session, spec)
        model = self._model(session, spec, progress)
        compute = session.sdk.AksCompute(session.workspace, target["compute_name"])
        progress(
            f"deploying {spec.service_name} ({_model_id(model)}) to AKS compute {target['compute_name']}"
        )
        try:
            service = session.sdk.Model.deploy(
                workspace=session.workspace,
                name=spec.service_name,
                models=[model],
                inference_config=inference_config,
                deployment_config=configuration,
                deployment_target=compute,
                overwrite=False,
            )
        except Exception as error:
            # The request may have created the service before failing: remove it if it is ours.
            self._remove_if_ours(session, spec.service_name, handle["deployment_id"])
            if isinstance(error, session.sdk.WebserviceException):
                raise DeploymentFailed(f"deploying {spec.service_name} failed: {_message(error)}") from error
            raise

        try:
            failure = self._wait(session, service, progress)
        except BaseException:  # interrupted or an unexpected error: create leaves nothing behind
            self._delete_after_failure(session, service, progress)
            raise
        if failure is not None:
            logs = self._service_logs(session, service)
            self._delete_after_failure(session, service, progress)
            raise DeploymentFailed(
                f"{spec.service_name} did not become {HEALTHY} ({failure}); the service was deleted", logs
            )
        progress(f"{spec.service_name} is {HEALTHY} at {service.scoring_uri}")
        return self._live(session, service, handle, _settings(spec))

    def update(
        self, current: LiveDeployment, old: DeploymentSpec, new: DeploymentSpec, progress: Progress
    ) -> LiveDeployment:
        """`service.update(...)` with only what changed from `old` to `new`, then wait.

        A new model, source or environment is sent as `models` + `inference_config` (a new
        image); settings go as their own arguments. On failure `DeploymentFailed` carries the
        logs; AKS keeps the previous pods serving until the new ones are ready.
        """
        handle = dict(current.handle)
        self._wait_timeout_s()  # a bad timeout setting fails before anything is changed
        session = self._session(_handle_target(handle))
        service = self._owned_service(session, handle)
        if service is None:
            raise DeploymentFailed(
                f"{handle['service_name']} is gone (or is no longer the one this stack created); "
                "run `pulumi refresh` so it is created again"
            )
        arguments = settings_update_arguments(_settings(old), _settings(new))
        content_changed = (old.model_hash, old.source_hash, old.environment_hash) != (
            new.model_hash,
            new.source_hash,
            new.environment_hash,
        )
        if content_changed:
            arguments["models"] = [self._model(session, new, progress)]
            arguments["inference_config"] = self._inference_config(session, new)
        new_tags = _service_tags(new, handle)
        if new_tags != _service_tags(old, handle):
            arguments["tags"] = new_tags
        if not arguments:
            return self._live(session, service, handle, _settings(new))

        progress(f"updating {new.service_name}: {', '.join(sorted(arguments))}")
        try:
            service.update(**arguments)
        except session.sdk.WebserviceException as error:
            raise DeploymentFailed(
                f"updating {new.service_name} failed: {_message(error)}", self._service_logs(session, service)
            ) from error
        failure = self._wait(session, service, progress)
        if failure is not None:
            raise DeploymentFailed(
                f"{new.service_name} did not become {HEALTHY} after the update ({failure})",
                self._service_logs(session, service),
            )
        progress(f"{new.service_name} is {HEALTHY}")
        return self._live(session, service, handle, _settings(new))

    def read(self, current: LiveDeployment, spec: DeploymentSpec) -> LiveDeployment | None:
        """The live service: state, URIs, model, settings and keys. None when it is gone or when
        the service of that name is no longer the one this stack created."""
        handle = dict(current.handle)
        session = self._session(_handle_target(handle))
        service = self._owned_service(session, handle)
        if service is None:
            return None
        return self._live(session, service, handle, _settings(spec))

    def delete(self, current: LiveDeployment) -> None:
        """`service.delete()`. Already gone is success; a same-named service that this stack did
        not create is left alone (ours is gone)."""
        handle = dict(current.handle)
        session = self._session(_handle_target(handle))
        service = self._owned_service(session, handle)
        if service is None:
            return
        try:
            service.delete()
        except session.sdk.WebserviceException as error:
            if not _is_not_found(error):
                raise DeploymentFailed(
                    f"deleting {handle['service_name']} failed: {_message(error)}"
                ) from error

    def logs(self, current: LiveDeployment, tail_lines: int = LOG_TAIL_LINES) -> str:
        handle = dict(current.handle)
        session = self._session(_handle_target(handle))
        service = self._owned_service(session, handle)
        return "" if service is None else self._service_logs(session, service, tail_lines)

    # -- helpers ------------------------------------------------------------------------------

    def _environ_now(self) -> Mapping[str, str]:
        return self._environ if self._environ is not None else os.environ

    def _session(self, target: Mapping[str, str]) -> _Session:
        environ = self._environ_now()
        sdk = self._sdk if self._sdk is not None else load_sdk(environ)
        auth = resolve_auth(sdk, environ)
        workspace = sdk.Workspace.get(
            name=target["workspace_name"],
            auth=auth,
            subscription_id=target["subscription_id"],
            resource_group=target["resource_group"],
        )
        return _Session(sdk=sdk, workspace=workspace)

    def _wait_timeout_s(self) -> float:
        raw = self._environ_now().get(WAIT_TIMEOUT_VARIABLE)
        if raw is None or raw == "":
            return DEFAULT_WAIT_TIMEOUT_S
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if value <= 0:
            raise ValueError(f"{WAIT_TIMEOUT_VARIABLE}={raw!r}: expected a positive number of seconds")
        return value

    def _get_service(self, session: _Session, name: str) -> Any | None:
        try:
            return session.sdk.Webservice(session.workspace, name)
        except session.sdk.WebserviceException as error:
            if _is_not_found(error):
                return None
            raise

    def _owned_service(self, session: _Session, handle: Mapping[str, Any]) -> Any | None:
        service = self._get_service(session, handle["service_name"])
        if service is None:
            return None
        tags = getattr(service, "tags", None) or {}
        return service if tags.get(DEPLOYMENT_ID_TAG) == handle.get("deployment_id") else None

    def _remove_if_ours(self, session: _Session, name: str, deployment_id: str) -> None:
        service = self._owned_service(session, {"service_name": name, "deployment_id": deployment_id})
        if service is not None:
            service.delete()

    def _model(self, session: _Session, spec: DeploymentSpec, progress: Progress) -> Any:
        """The registered model whose content hash tag equals `spec.model_hash`; registered
        only when no version has it, so repeated `up`s create no new versions."""
        candidates = session.sdk.Model.list(
            session.workspace, name=spec.model_name, tags=[[MODEL_HASH_TAG, spec.model_hash]]
        )
        matching = [m for m in candidates if (m.tags or {}).get(MODEL_HASH_TAG) == spec.model_hash]
        if matching:
            model = max(matching, key=lambda m: int(m.version))
            progress(f"reusing model {_model_id(model)} (same content hash)")
            return model
        progress(f"registering model {spec.model_name} from {Path(spec.model_dir).name}/")
        return session.sdk.Model.register(
            workspace=session.workspace,
            model_path=str(spec.model_dir),
            model_name=spec.model_name,
            tags={MODEL_HASH_TAG: spec.model_hash, OWNER_TAG: _owner(spec)},
            description=f"{spec.model_name}, deployed by {_owner(spec)}",
        )

    def _inference_config(self, session: _Session, spec: DeploymentSpec) -> Any:
        environment = build_environment(session.sdk, spec.service_name, Path(spec.environment_file))
        return build_inference_config(session.sdk, Path(spec.source_dir), spec.entry_script, environment)

    def _wait(self, session: _Session, service: Any, progress: Progress) -> str | None:
        """Run `wait_for_deployment` on a worker thread, reporting progress while it runs.

        Returns None when the service is Healthy, else why not (failed state, timeout, error).
        """
        timeout_s = self._wait_timeout_s()
        outcome: dict[str, BaseException] = {}

        def wait() -> None:
            try:
                service.wait_for_deployment(show_output=False, timeout_sec=timeout_s)
            except BaseException as error:  # reported to the waiting thread, never lost
                outcome["error"] = error

        worker = threading.Thread(target=wait, name=f"wait-{service.name}", daemon=True)
        started = time.monotonic()
        worker.start()
        # The SDK enforces timeout_s itself; the grace covers its last poll.
        while worker.is_alive() and time.monotonic() - started < timeout_s + 60:
            worker.join(self._progress_interval_s)
            if worker.is_alive():
                progress(f"waiting for {service.name}: {time.monotonic() - started:.0f}s of {timeout_s:.0f}s")
        if worker.is_alive():
            return f"no terminal state within {timeout_s:.0f}s"
        error = outcome.get("error")
        if error is not None:
            if not isinstance(error, session.sdk.WebserviceException):
                raise error
            return _message(error).splitlines()[0]
        state = getattr(service, "state", None)
        return None if state == HEALTHY else f"state {state}"

    def _service_logs(self, session: _Session, service: Any, tail_lines: int = LOG_TAIL_LINES) -> str:
        try:
            logs = service.get_logs(num_lines=tail_lines) or ""
        except session.sdk.WebserviceException as error:
            return f"(logs unavailable: {_message(error).splitlines()[0]})"
        return "\n".join(logs.splitlines()[-tail_lines:])

    def _delete_after_failure(self, session: _Session, service: Any, progress: Progress) -> None:
        progress(f"deleting the failed service {service.name}")
        try:
            service.delete()
        except session.sdk.WebserviceException as error:
            if not _is_not_found(error):
                raise DeploymentFailed(
                    f"{service.name} did not become {HEALTHY} and deleting it failed too: {_message(error)}; "
                    "delete it in the workspace before the next `pulumi up`"
                ) from error

    def _live(
        self, session: _Session, service: Any, handle: Mapping[str, Any], configured: ServiceSettings
    ) -> LiveDeployment:
        models = list(getattr(service, "models", None) or [])
        model_id = _model_id(models[0]) if models else str(handle.get("model_id", ""))
        keys: tuple[str, str] | None = None
        if _auth_of(service) == "key":
            try:
                primary, secondary = service.get_keys()
                keys = (primary, secondary)
            except session.sdk.WebserviceException:
                keys = None  # a service in a failed state may not list keys; its state says why
        # Token auth: tokens expire within hours, so none is stored; clients fetch one at call
        # time with `AksWebservice.get_access_token()` (see docs/azure.md).
        return LiveDeployment(
            service_name=service.name,
            state=str(service.state),
            scoring_uri=service.scoring_uri or "",
            swagger_uri=service.swagger_uri,
            health_uri=None,  # AKS v1 services expose no separate health route to clients
            model_id=model_id,
            handle={**handle, "model_id": model_id},
            settings=live_settings(service, configured),
            keys=keys,
        )


# ---------------------------------------------------------------------------------------------


def _target(spec: DeploymentSpec) -> dict[str, str]:
    target = spec.target
    values: dict[str, str] = {}
    for name in _TARGET_FIELDS:
        value = target.get(name) if isinstance(target, Mapping) else getattr(target, name, None)
        if not isinstance(value, str) or not value:
            raise ValueError(f"target.{name}: {value!r} is not usable; expected a non-empty string")
        values[name] = value
    return values


def _handle_target(handle: Mapping[str, Any]) -> dict[str, str]:
    missing = [name for name in (*_TARGET_FIELDS, "service_name") if not handle.get(name)]
    if missing:
        raise ValueError(f"handle: {', '.join(missing)} missing; expected the handle that create returned")
    return {name: str(handle[name]) for name in _TARGET_FIELDS}


def _settings(spec: DeploymentSpec) -> ServiceSettings:
    settings = spec.settings
    return settings if isinstance(settings, ServiceSettings) else ServiceSettings.from_dict(settings)


def _owner(spec: DeploymentSpec) -> str:
    return str((spec.tags or {}).get(OWNER_TAG) or DEFAULT_OWNER)


def _service_tags(spec: DeploymentSpec, handle: Mapping[str, Any]) -> dict[str, str]:
    tags = {str(k): str(v) for k, v in (spec.tags or {}).items()}
    tags.update(
        {
            OWNER_TAG: str(handle["owner"]),
            DEPLOYMENT_ID_TAG: str(handle["deployment_id"]),
            MODEL_HASH_TAG: spec.model_hash,
            SOURCE_HASH_TAG: spec.source_hash,
            ENVIRONMENT_HASH_TAG: spec.environment_hash,
        }
    )
    return tags


def _auth_of(service: Any) -> str:
    if getattr(service, "token_auth_enabled", False):
        return "token"
    return "key" if getattr(service, "auth_enabled", False) else "none"


def _model_id(model: Any) -> str:
    return f"{model.name}:{model.version}"


def _message(error: BaseException) -> str:
    return str(getattr(error, "message", None) or error)


def _is_not_found(error: BaseException) -> bool:
    return "WebserviceNotFound" in _message(error) or str(getattr(error, "status_code", "")) == "404"


def _occupied_message(name: str, target: Mapping[str, str], service: Any) -> str:
    tags = getattr(service, "tags", None) or {}
    where = f"workspace {target['workspace_name']} (resource group {target['resource_group']})"
    if tags.get(OWNER_TAG):
        return (
            f"service {name!r} already exists in {where}, tagged {OWNER_TAG}={tags[OWNER_TAG]!r} but not "
            "recorded in this stack's state (left by an earlier run?); it is not overwritten: delete it "
            "(`az ml service delete`) or choose another service name"
        )
    return (
        f"service {name!r} already exists in {where} and was not created by this stack "
        f"(no {OWNER_TAG} tag); it is not overwritten: choose another service name or delete it yourself"
    )
