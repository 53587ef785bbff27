"""ModelDeploymentProvider: the dynamic provider of `ModelDeployment`, over a `Backend`.

The SDK pickles this class (by reference to `deployment.provider`) into the stack's state, and
the provider host unpickles it for every operation. So it holds no state at all: the backend is
chosen and constructed per call (`backend_for`), and credentials are found by the backend then.

State layout: the outputs are the inputs (so `diff` can compare old and new specs) plus
`scoring_uri`, `swagger_uri`, `health_uri`, `state`, `model_id`, `model_version`, the secret
`primary_key`/`secondary_key`, and `live`: the backend's `LiveDeployment` without its keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from deployment.backend import Backend, LiveDeployment
from deployment.engine_watch import watch_engine
from deployment.spec import DeploymentSpec, diff_inputs
from deployment.validation import validate_inputs

LIVE_KEY = "live"
SECRET_OUTPUTS = ("primary_key", "secondary_key")
OUTPUT_NAMES = (
    "scoring_uri",
    "swagger_uri",
    "health_uri",
    "state",
    "model_id",
    "model_version",
    *SECRET_OUTPUTS,
)


def log_progress(message: str) -> None:
    """Progress to the engine's log; a logging failure never fails an operation."""
    with contextlib.suppress(Exception):  # no engine, or it went away: progress is best effort
        pulumi.log.info(message)


def backend_for(spec: DeploymentSpec) -> Backend:
    """The backend for the spec's target, constructed now (never pickled)."""
    if spec.backend == "local":
        from deployment.local.backend import LocalBackend

        return LocalBackend(spec.local_target())
    if spec.backend == "azureml":
        from deployment.azureml.backend import AzureMlBackend  # lazy: azureml-core is slow to import

        return AzureMlBackend()
    raise ValueError(f"backend: {spec.backend!r} is not allowed: one of local, azureml")


def live_outputs(spec: DeploymentSpec, inputs: Mapping[str, Any], live: LiveDeployment) -> dict[str, Any]:
    """The resource's outputs: its inputs plus what the backend reports."""
    keys = live.keys or (None, None)
    live_without_keys = live.to_dict()
    live_without_keys["keys"] = None  # the keys live only in the secret outputs
    return {
        **inputs,
        "scoring_uri": live.scoring_uri,
        "swagger_uri": live.swagger_uri,
        "health_uri": live.health_uri,
        "state": live.state,
        "model_id": live.model_id,
        "model_version": spec.model_version,
        "primary_key": keys[0],
        "secondary_key": keys[1],
        LIVE_KEY: live_without_keys,
    }


def live_from_outputs(outs: Mapping[str, Any]) -> LiveDeployment:
    live = dict(outs[LIVE_KEY])
    if outs.get("primary_key") is not None:
        live["keys"] = [outs["primary_key"], outs.get("secondary_key")]
    return LiveDeployment.from_dict(live)


def _inputs_only(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in OUTPUT_NAMES and k not in (LIVE_KEY, "__provider")}


class ModelDeploymentProvider(ResourceProvider):
    """check/diff/create/read/update/delete of a model deployment."""

    def configure(self, req: ConfigureRequest) -> None:
        """Called by the host when it first unpickles the provider: watch the engine."""
        del req
        watch_engine()

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate the inputs; each failure names the property, the value and what is allowed."""
        failures = [CheckFailure(prop, reason) for prop, reason in validate_inputs(news)]
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Replace on service name, backend or target; update in place on content hashes and
        settings; no change otherwise. A replacement that keeps the service name deletes
        first (a backend refuses a second service of the same name)."""
        result = diff_inputs(olds, news)
        if not result.has_changes:
            return DiffResult(changes=False, replaces=[], delete_before_replace=False)
        log_progress(f"model deployment: changed {', '.join(result.changed)}")
        same_name = "service_name" not in result.replaces
        return DiffResult(
            changes=True,
            replaces=list(result.replaces),
            delete_before_replace=bool(result.replaces) and same_name,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Deploy and wait until healthy. Transactional: on failure the backend has removed
        what it started, and the error carries the tail of the service's log."""
        inputs = _inputs_only(props)
        spec = DeploymentSpec.from_inputs(inputs)
        live = backend_for(spec).create(spec, log_progress)
        return CreateResult(live.service_name, live_outputs(spec, inputs, live))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """What is live. Gone reads as an empty id, so `pulumi refresh` drops the resource."""
        inputs = _inputs_only(props)
        spec = DeploymentSpec.from_inputs(inputs)
        live = backend_for(spec).read(live_from_outputs(props), spec)
        if live is None:
            log_progress(f"model deployment {spec.service_name}: gone")
            return ReadResult("", {})
        outs = live_outputs(spec, inputs, live)
        if live.settings is not None:
            # Drift in the live settings shows up in the next diff (state vs. config).
            outs["settings"] = dict(live.settings)
        return ReadResult(id_, outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Change the running service in place; on failure the old version keeps serving where
        the backend can ensure it, and the error carries the logs."""
        old_spec = DeploymentSpec.from_inputs(_inputs_only(olds))
        inputs = _inputs_only(news)
        new_spec = DeploymentSpec.from_inputs(inputs)
        live = backend_for(new_spec).update(live_from_outputs(olds), old_spec, new_spec, log_progress)
        return UpdateResult(live_outputs(new_spec, inputs, live))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Remove the service; already gone is success."""
        spec = DeploymentSpec.from_inputs(_inputs_only(props))
        backend_for(spec).delete(live_from_outputs(props))
        log_progress(f"model deployment {spec.service_name}: deleted")
