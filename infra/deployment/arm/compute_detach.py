"""Detach an Azure ML compute the way the service requires, and clear what a v1 attach leaves.

pulumi-azure-native deletes every resource with a DELETE that carries only `api-version`, but the
machinelearningservices spec makes `underlyingResourceAction` (`Delete` | `Detach`) a REQUIRED
query parameter of a compute's DELETE. So the program's computes are `retain_on_delete` (the
engine never sends azure-native's DELETE) and a `ComputeDetachment` beside each one sends this
module's instead, with `Detach`: the cluster behind the compute is never deleted by it (the
stack deletes its own cluster as a resource of its own; an adopted one is left alone).

    DELETE {compute id}?api-version=…&underlyingResourceAction=Detach
        200/204 detached · 202 + Azure-AsyncOperation (or Location) polled to a final status
        · 404 already gone

A v1 (AKS) attach installs the azureml-fe router into the cluster's default namespace, and the
service does not remove it on detach: attaching the same cluster again (which every
delete-before-replace of the attach does) then fails until those objects are deleted
(MicrosoftDocs/azure-docs#86416, the "Delete azureml-fe related resources" commands of the v1
attach how-to). So after a v1 detach, `remove_legacy_router` deletes exactly those objects
through the cluster's Kubernetes API, each 404 meaning already gone.

The ARM token comes from the credentials the v1 backend uses (deployment/azure_common/auth.py), found
per call and never stored; the kubeconfig is a secret input of the resource.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

ARM = "https://management.azure.com"
# The machinelearningservices api-version pulumi-azure-native 3.24 uses for Compute (its SDK says
# so in the resource's docstring; tests/infra keeps the two equal).
COMPUTE_API_VERSION = "2025-12-01"
DETACH = "Detach"
HTTP_TIMEOUT_S = 30.0
DETACH_TIMEOUT_S = 20 * 60.0
POLL_INTERVAL_S = 10.0
FINAL_SUCCESS = "succeeded"
FINAL_FAILURE = ("failed", "canceled", "cancelled")

# The objects the v1 attach's azureml-fe router leaves in the cluster (the how-to's list):
# (API path prefix, namespaced, plural, name).
LEGACY_ROUTER_OBJECTS: tuple[tuple[str, bool, str, str], ...] = (
    ("/api/v1", True, "serviceaccounts", "azureml-fe"),
    ("/apis/rbac.authorization.k8s.io/v1", False, "clusterroles", "azureml-fe-role"),
    ("/apis/rbac.authorization.k8s.io/v1", False, "clusterrolebindings", "azureml-fe-binding"),
    ("/api/v1", True, "services", "azureml-fe"),
    ("/api/v1", True, "services", "azureml-fe-int-http"),
    ("/apis/apps/v1", True, "deployments", "azureml-fe"),
    ("/api/v1", True, "secrets", "azuremlfessl"),
    ("/api/v1", True, "configmaps", "azuremlfeconfig"),
)
LEGACY_ROUTER_NAMESPACE = "default"


class DetachError(Exception):
    """Azure or the cluster refused a step; the message names the compute or object and the status."""


Http = Callable[..., requests.Response]  # requests.request's signature: (method, url, **kwargs)


def detach_compute(
    compute_id: str,
    headers: Mapping[str, str],
    *,
    arm: str = ARM,
    api_version: str = COMPUTE_API_VERSION,
    http: Http = requests.request,
    timeout_s: float = DETACH_TIMEOUT_S,
    poll_interval_s: float = POLL_INTERVAL_S,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Detach the compute and wait until it is gone. False when it was gone already."""
    url = f"{arm}{compute_id}"
    params = {"api-version": api_version, "underlyingResourceAction": DETACH}
    response = http("DELETE", url, params=params, headers=dict(headers), timeout=HTTP_TIMEOUT_S)
    if response.status_code == 404:
        return False
    if response.status_code in (200, 204):
        return True
    if response.status_code != 202:
        raise DetachError(f"detaching compute {compute_id}: {_status(response)}")
    wait_for_operation(
        response, f"detaching compute {compute_id}", headers, http, timeout_s, poll_interval_s, sleep
    )
    return True


def wait_for_operation(
    response: requests.Response,
    what: str,
    headers: Mapping[str, str],
    http: Http,
    timeout_s: float,
    poll_interval_s: float,
    sleep: Callable[[float], None],
) -> None:
    """Follow ARM's asynchronous operation that `response` (a 201/202) started until it ends;
    DetachError, naming `what`, when it fails or outlasts `timeout_s`."""
    monitor = response.headers.get("Azure-AsyncOperation") or response.headers.get("Location")
    if not monitor:
        raise DetachError(f"{what}: {response.status_code} without Azure-AsyncOperation or Location")
    deadline = time.monotonic() + timeout_s
    while True:
        delay = _retry_after(response, poll_interval_s)
        if time.monotonic() + delay > deadline:
            raise DetachError(f"{what}: not finished after {timeout_s:g} s")
        sleep(delay)
        response = http("GET", monitor, headers=dict(headers), timeout=HTTP_TIMEOUT_S)
        if response.status_code == 202:
            continue
        if response.status_code in (200, 204, 404) and not _body_status(response):
            return  # a Location monitor answers 200/204 (or the resource's 404) when done
        state = _body_status(response)
        if response.status_code >= 400 or state in FINAL_FAILURE:
            raise DetachError(f"{what}: {state or _status(response)}: {_error(response)}")
        if state == FINAL_SUCCESS:
            return


def remove_legacy_router(kubeconfig: str, *, http: Http = requests.request) -> list[str]:
    """Delete the v1 router's objects; the ones that existed, as `kind/name`."""
    removed = []
    with _cluster_session(kubeconfig) as (server, kwargs):
        for prefix, namespaced, plural, name in LEGACY_ROUTER_OBJECTS:
            scope = f"/namespaces/{LEGACY_ROUTER_NAMESPACE}" if namespaced else ""
            url = f"{server}{prefix}{scope}/{plural}/{name}"
            response = http("DELETE", url, timeout=HTTP_TIMEOUT_S, **kwargs)
            if response.status_code == 404:
                continue
            if response.status_code not in (200, 202):
                raise DetachError(f"deleting {plural}/{name} of the v1 router: {_status(response)}")
            removed.append(f"{plural}/{name}")
    return removed


@contextlib.contextmanager
def _cluster_session(kubeconfig: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The current context's server and the requests arguments that authenticate to it: a bearer
    token or a client certificate (what AKS's local-account kubeconfigs carry), its CA."""
    try:
        config = yaml.safe_load(kubeconfig)
        current = config.get("current-context")
        contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
        context = contexts.get(current) if current else None
        clusters = {c["name"]: c["cluster"] for c in config["clusters"]}
        users = {u["name"]: u.get("user") or {} for u in config.get("users") or []}
        cluster = clusters[context["cluster"]] if context else next(iter(clusters.values()))
        user = users.get(context["user"], {}) if context else next(iter(users.values()), {})
        server = str(cluster["server"]).rstrip("/")
    except (yaml.YAMLError, AttributeError, KeyError, TypeError, StopIteration) as e:
        # Never the kubeconfig itself in the message: it holds credentials.
        raise DetachError(f"the cluster's kubeconfig can't be read ({type(e).__name__})") from None
    with tempfile.TemporaryDirectory(prefix="amlgpu-kube-") as tmp:
        kwargs: dict[str, Any] = {"headers": {}}
        if user.get("token"):
            kwargs["headers"]["Authorization"] = f"Bearer {user['token']}"
        if user.get("client-certificate-data") and user.get("client-key-data"):
            cert = _write(tmp, "client.crt", user["client-certificate-data"])
            key = _write(tmp, "client.key", user["client-key-data"])
            kwargs["cert"] = (cert, key)
        if cluster.get("certificate-authority-data"):
            kwargs["verify"] = _write(tmp, "ca.crt", cluster["certificate-authority-data"])
        yield server, kwargs


def _write(directory: str, name: str, data_b64: str) -> str:
    path = Path(directory) / name
    path.write_bytes(base64.b64decode(data_b64))
    os.chmod(path, 0o600)
    return str(path)


def _retry_after(response: requests.Response, default_s: float) -> float:
    with contextlib.suppress(ValueError):  # absent ("") or not a number of seconds
        return max(0.0, float(response.headers.get("Retry-After", "")))
    return default_s


def _body_status(response: requests.Response) -> str:
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict):
            return str(body.get("status") or "").lower()
    return ""


def _error(response: requests.Response) -> str:
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return str(body["error"].get("message") or body["error"].get("code") or "")
    return ""


def _status(response: requests.Response) -> str:
    detail = _error(response)
    return f"HTTP {response.status_code}" + (f" ({detail})" if detail else "")


@dataclass(frozen=True)
class DetachRequest:
    """What a `ComputeDetachment` holds: the compute, and for a v1 attach the cluster's kubeconfig."""

    compute_id: str
    api_version: str
    legacy_router_kubeconfig: str | None

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> DetachRequest:
        return cls(
            compute_id=str(props["compute_id"]),
            api_version=str(props.get("api_version") or COMPUTE_API_VERSION),
            legacy_router_kubeconfig=props.get("legacy_router_kubeconfig") or None,
        )


def arm_headers(environ: Mapping[str, str]) -> dict[str, str]:
    """An ARM bearer header from the first credential that works (deployment/azure_common/auth.py)."""
    from deployment.azure_common.auth import resolve_auth
    from deployment.azureml.sdk import real_sdk

    return dict(resolve_auth(real_sdk(), environ).get_authentication_header())


def run_detach(
    request: DetachRequest,
    headers: Mapping[str, str],
    log: Callable[[str], None],
    *,
    arm: str = ARM,
    http: Http = requests.request,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Detach, then (v1) clear the router so the cluster can be attached again."""
    detached = detach_compute(
        request.compute_id, headers, arm=arm, api_version=request.api_version, http=http, sleep=sleep
    )
    log(f"compute {request.compute_id.rsplit('/', 1)[-1]}: {'detached' if detached else 'already gone'}")
    if request.legacy_router_kubeconfig:
        removed = remove_legacy_router(request.legacy_router_kubeconfig, http=http)
        log(f"v1 router objects removed: {', '.join(removed) if removed else 'none were left'}")
