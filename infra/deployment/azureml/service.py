"""What the Azure backend knows about one AKS web service, apart from the backend's flow: the tags
that mark it as ours, how to wait for it, read its logs, and word the SDK's errors.

Ownership: every service the backend creates carries OWNER_TAG and DEPLOYMENT_ID_TAG (a fresh id
per create); a service of the same name without our deployment id is someone else's.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from deployment.azureml.handle import AzureMlHandle
from deployment.backend import Progress
from deployment.spec import OWNER_TAG

if TYPE_CHECKING:
    from deployment.spec import DeploymentSpec

LOG_TAIL_LINES = 100
HEALTHY = "Healthy"

MODEL_HASH_TAG = "content_sha256"
DEFAULT_OWNER = "aml-gpu-inference"
DEPLOYMENT_ID_TAG = "amlgpu-deployment-id"
SOURCE_HASH_TAG = "source_sha256"
ENVIRONMENT_HASH_TAG = "environment_sha256"


def wait_until_terminal(
    service: Any, timeout_s: float, interval_s: float, progress: Progress, sdk_error: type[Exception]
) -> str | None:
    """Run `wait_for_deployment` on a worker thread, reporting progress every `interval_s`.

    Returns None when the service is Healthy, else why not (failed state, timeout, SDK error).
    """
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
        worker.join(interval_s)
        if worker.is_alive():
            progress(f"waiting for {service.name}: {time.monotonic() - started:.0f}s of {timeout_s:.0f}s")
    if worker.is_alive():
        return f"no terminal state within {timeout_s:.0f}s"
    error = outcome.get("error")
    if error is not None:
        if not isinstance(error, sdk_error):
            raise error
        return message(error).splitlines()[0]
    state = getattr(service, "state", None)
    return None if state == HEALTHY else f"state {state}"


def service_logs(service: Any, sdk_error: type[Exception], tail_lines: int = LOG_TAIL_LINES) -> str:
    try:
        logs = service.get_logs(num_lines=tail_lines) or ""
    except sdk_error as error:
        return f"(logs unavailable: {message(error).splitlines()[0]})"
    return "\n".join(logs.splitlines()[-tail_lines:])


def owner_of(spec: DeploymentSpec) -> str:
    return str((spec.tags or {}).get(OWNER_TAG) or DEFAULT_OWNER)


def service_tags(spec: DeploymentSpec, handle: AzureMlHandle) -> dict[str, str]:
    tags = {str(k): str(v) for k, v in (spec.tags or {}).items()}
    tags.update(
        {
            OWNER_TAG: handle.owner,
            DEPLOYMENT_ID_TAG: handle.deployment_id,
            MODEL_HASH_TAG: spec.model_hash,
            SOURCE_HASH_TAG: spec.source_hash,
            ENVIRONMENT_HASH_TAG: spec.environment_hash,
        }
    )
    return tags


def model_id_of(model: Any) -> str:
    return f"{model.name}:{model.version}"


def message(error: BaseException) -> str:
    return str(getattr(error, "message", None) or error)


def is_not_found(error: BaseException) -> bool:
    return "WebserviceNotFound" in message(error) or str(getattr(error, "status_code", "")) == "404"


def occupied_message(handle: AzureMlHandle, service: Any) -> str:
    name = handle.service_name
    tags = getattr(service, "tags", None) or {}
    where = f"workspace {handle.workspace_name} (resource group {handle.resource_group})"
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
