"""The Azure ML SDK v1 (azureml-core) backend: the how-to's deployment to an attached AKS compute.

    create  Workspace.get → Model.list/Model.register (reused by content hash) → Environment on
            the pinned GPU base image → InferenceConfig → AksWebservice.deploy_configuration →
            Model.deploy(deployment_target=AksCompute) → wait_for_deployment → keys
    update  service.update(...) with only what changed → wait
    read    Webservice(ws, name); not found, or not ours, reads as gone
    delete  service.delete(); not found is success; a service that is not ours is never touched

Nothing is resolved in `__init__`: the provider constructs `AzureMlBackend()` at call time and
the credentials (azure_common/auth.py) and the SDK are looked up per operation, so nothing the SDK
pickles into state holds a credential or a client.

Ownership (service.py): a service of the same name without our deployment id is someone
else's: create refuses it, read reports ours as gone, update refuses, delete leaves it alone.

Tests hand in autospecced azureml-core classes (`AzureMlBackend(sdk=...)`); the provider never
does, so production always calls the real azureml-core (sdk.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployment.azure_common.auth import resolve_auth
from deployment.azure_common.environment import build_environment, build_inference_config, server_variables
from deployment.azureml.handle import AzureMlHandle
from deployment.azureml.model import registered_model
from deployment.azureml.sdk import AzureSdk, real_sdk
from deployment.azureml.service import (
    DEPLOYMENT_ID_TAG,
    HEALTHY,
    LOG_TAIL_LINES,
    is_not_found,
    message,
    model_id_of,
    occupied_message,
    owner_of,
    service_logs,
    service_tags,
    wait_until_terminal,
)
from deployment.azureml.settings import (
    auth_of,
    deploy_configuration_arguments,
    live_settings,
    settings_update_arguments,
)
from deployment.backend import DeploymentFailed, LiveDeployment, Progress
from deployment.settings import ServiceSettings

if TYPE_CHECKING:
    from deployment.spec import DeploymentSpec

WAIT_TIMEOUT_VARIABLE = "AMLGPU_AZUREML_WAIT_TIMEOUT_S"
# A first deployment builds the CUDA image with TensorFlow (often 15-25 minutes) before pods start.
DEFAULT_WAIT_TIMEOUT_S = 2700.0
DEFAULT_PROGRESS_INTERVAL_S = 30.0


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Session:
    sdk: AzureSdk
    workspace: Any


class AzureMlBackend:
    """`Backend` (backend.py) over azureml-core. See the module docstring for the flow.

    `sdk` and `environ` exist for tests; the provider passes neither, and then both are resolved
    per call (`os.environ`, `real_sdk`).
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
        handle = AzureMlHandle.for_new_service(
            spec.target, spec.service_name, owner_of(spec), uuid.uuid4().hex
        )
        self._wait_timeout_s()  # a bad timeout setting fails before anything is deployed
        session = self._session(handle)
        existing = self._get_service(session, spec.service_name)
        if existing is not None:
            raise DeploymentFailed(occupied_message(handle, existing))

        # Built first: the SDK validates the settings here, before anything is registered.
        try:
            configuration = session.sdk.AksWebservice.deploy_configuration(
                **deploy_configuration_arguments(_settings(spec), service_tags(spec, handle))
            )
        except session.sdk.WebserviceException as error:
            raise DeploymentFailed(
                f"settings: rejected by AksWebservice.deploy_configuration: {message(error).strip()}"
            ) from error
        inference_config = self._inference_config(session, spec)
        model = registered_model(session.sdk, session.workspace, spec, progress)
        compute = session.sdk.AksCompute(session.workspace, handle.compute_name)
        progress(f"deploying {spec.service_name} ({model_id_of(model)}) to AKS compute {handle.compute_name}")
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
            self._remove_if_ours(session, handle)
            if isinstance(error, session.sdk.WebserviceException):
                raise DeploymentFailed(f"deploying {spec.service_name} failed: {message(error)}") from error
            raise

        try:
            failure = self._wait(session, service, progress)
        except BaseException:  # interrupted or an unexpected error: create leaves nothing behind
            self._delete_after_failure(session, service, progress)
            raise
        if failure is not None:
            logs = self._logs(session, service)
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

        A new model, source or environment, or new server variables (scoring settings, the
        workers), is sent as `models` + `inference_config`; settings go as their own arguments.
        On failure `DeploymentFailed` carries the logs; AKS keeps the previous pods serving until
        the new ones are ready.
        """
        handle = AzureMlHandle.from_dict(current.handle)
        self._wait_timeout_s()  # a bad timeout setting fails before anything is changed
        session = self._session(handle)
        service = self._owned_service(session, handle)
        if service is None:
            raise DeploymentFailed(
                f"{handle.service_name} is gone (or is no longer the one this stack created); "
                "run `pulumi refresh` so it is created again"
            )
        arguments = settings_update_arguments(_settings(old), _settings(new))
        content_changed = (old.model_hash, old.source_hash, old.environment_hash) != (
            new.model_hash,
            new.source_hash,
            new.environment_hash,
        )
        if content_changed or _variables(old) != _variables(new):
            arguments["models"] = [registered_model(session.sdk, session.workspace, new, progress)]
            arguments["inference_config"] = self._inference_config(session, new)
        new_tags = service_tags(new, handle)
        if new_tags != service_tags(old, handle):
            arguments["tags"] = new_tags
        if not arguments:
            return self._live(session, service, handle, _settings(new))

        progress(f"updating {new.service_name}: {', '.join(sorted(arguments))}")
        try:
            service.update(**arguments)
        except session.sdk.WebserviceException as error:
            raise DeploymentFailed(
                f"updating {new.service_name} failed: {message(error)}",
                self._logs(session, service),
            ) from error
        failure = self._wait(session, service, progress)
        if failure is not None:
            raise DeploymentFailed(
                f"{new.service_name} did not become {HEALTHY} after the update ({failure})",
                self._logs(session, service),
            )
        progress(f"{new.service_name} is {HEALTHY}")
        return self._live(session, service, handle, _settings(new))

    def read(self, current: LiveDeployment, spec: DeploymentSpec) -> LiveDeployment | None:
        """The live service: state, URIs, model, settings and keys. None when it is gone or when
        the service of that name is no longer the one this stack created."""
        handle = AzureMlHandle.from_dict(current.handle)
        session = self._session(handle)
        service = self._owned_service(session, handle)
        if service is None:
            return None
        return self._live(session, service, handle, _settings(spec))

    def delete(self, current: LiveDeployment) -> None:
        """`service.delete()`. Already gone is success; a same-named service that this stack did
        not create is left alone (ours is gone)."""
        handle = AzureMlHandle.from_dict(current.handle)
        session = self._session(handle)
        service = self._owned_service(session, handle)
        if service is None:
            return
        try:
            service.delete()
        except session.sdk.WebserviceException as error:
            if not is_not_found(error):
                raise DeploymentFailed(f"deleting {handle.service_name} failed: {message(error)}") from error

    def logs(self, current: LiveDeployment, tail_lines: int = LOG_TAIL_LINES) -> str:
        handle = AzureMlHandle.from_dict(current.handle)
        session = self._session(handle)
        service = self._owned_service(session, handle)
        return "" if service is None else service_logs(service, session.sdk.WebserviceException, tail_lines)

    # -- helpers ------------------------------------------------------------------------------

    def _environ_now(self) -> Mapping[str, str]:
        return self._environ if self._environ is not None else os.environ

    def _session(self, handle: AzureMlHandle) -> _Session:
        environ = self._environ_now()
        sdk = self._sdk if self._sdk is not None else real_sdk()
        auth = resolve_auth(sdk, environ)
        workspace = sdk.Workspace.get(
            name=handle.workspace_name,
            auth=auth,
            subscription_id=handle.subscription_id,
            resource_group=handle.resource_group,
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
            if is_not_found(error):
                return None
            raise

    def _owned_service(self, session: _Session, handle: AzureMlHandle) -> Any | None:
        service = self._get_service(session, handle.service_name)
        if service is None:
            return None
        tags = getattr(service, "tags", None) or {}
        return service if tags.get(DEPLOYMENT_ID_TAG) == handle.deployment_id else None

    def _remove_if_ours(self, session: _Session, handle: AzureMlHandle) -> None:
        service = self._owned_service(session, handle)
        if service is not None:
            service.delete()

    def _inference_config(self, session: _Session, spec: DeploymentSpec) -> Any:
        environment = build_environment(
            session.sdk, spec.service_name, Path(spec.environment_file), _variables(spec)
        )
        return build_inference_config(session.sdk, Path(spec.source_dir), spec.entry_script, environment)

    def _wait(self, session: _Session, service: Any, progress: Progress) -> str | None:
        timeout_s = self._wait_timeout_s()
        error_type = session.sdk.WebserviceException
        return wait_until_terminal(service, timeout_s, self._progress_interval_s, progress, error_type)

    def _logs(self, session: _Session, service: Any) -> str:
        return service_logs(service, session.sdk.WebserviceException)

    def _delete_after_failure(self, session: _Session, service: Any, progress: Progress) -> None:
        progress(f"deleting the failed service {service.name}")
        try:
            service.delete()
        except session.sdk.WebserviceException as error:
            if not is_not_found(error):
                raise DeploymentFailed(
                    f"{service.name} did not become {HEALTHY} and deleting it failed too: {message(error)}; "
                    "delete it in the workspace before the next `pulumi up`"
                ) from error

    def _live(
        self, session: _Session, service: Any, handle: AzureMlHandle, configured: ServiceSettings
    ) -> LiveDeployment:
        models = list(getattr(service, "models", None) or [])
        model_id = model_id_of(models[0]) if models else handle.model_id
        keys: tuple[str, str] | None = None
        if auth_of(service) == "key":
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
            handle=handle.with_model(model_id).to_dict(),
            settings=live_settings(service, configured),
            keys=keys,
        )


# ---------------------------------------------------------------------------------------------


def _settings(spec: DeploymentSpec) -> ServiceSettings:
    settings = spec.settings
    return settings if isinstance(settings, ServiceSettings) else ServiceSettings.from_dict(settings)


def _variables(spec: DeploymentSpec) -> dict[str, str]:
    return server_variables(_settings(spec), spec.scoring)
