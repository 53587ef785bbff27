"""The compute detach (deployment/arm/compute_detach.py) against a real local HTTP server that plays
ARM and a cluster's Kubernetes API: the requests it sends, the polling, the router cleanup."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from deployment.arm.compute_detach import (
    COMPUTE_API_VERSION,
    LEGACY_ROUTER_OBJECTS,
    POLL_INTERVAL_S,
    DetachError,
    DetachRequest,
    detach_compute,
    remove_legacy_router,
    run_detach,
)
from deployment.detach_provider import ComputeDetachmentProvider

COMPUTE_ID = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/"
    "Microsoft.MachineLearningServices/workspaces/mlw/computes/gpu"
)
TOKEN = "Bearer not-a-real-token"


def test_the_delete_carries_the_detach_action_and_polls_to_success(azure):
    fake, base = azure
    fake.answer(
        "DELETE", COMPUTE_ID, (202, {"Azure-AsyncOperation": "{base}/op/1", "Retry-After": "0"}, None)
    )
    fake.answer("GET", "/op/1", (200, {}, {"status": "InProgress"}), (200, {}, {"status": "Succeeded"}))
    sleeps: list[float] = []
    assert detach_compute(COMPUTE_ID, {"Authorization": TOKEN}, arm=base, sleep=sleeps.append) is True
    method, path, headers = fake.requests[0]
    assert method == "DELETE"
    query = dict(pair.split("=") for pair in path.partition("?")[2].split("&"))
    assert query == {"api-version": COMPUTE_API_VERSION, "underlyingResourceAction": "Detach"}
    assert headers["Authorization"] == TOKEN
    assert [r[0] for r in fake.requests] == ["DELETE", "GET", "GET"]
    assert sleeps == [0.0, POLL_INTERVAL_S]  # Retry-After when given, else the default


def test_a_compute_that_is_gone_already_is_success(azure):
    _fake, base = azure
    assert detach_compute(COMPUTE_ID, {}, arm=base, sleep=lambda _s: None) is False


def test_a_failed_operation_names_the_compute_and_azures_message(azure):
    fake, base = azure
    fake.answer("DELETE", COMPUTE_ID, (202, {"Location": "{base}/op/2", "Retry-After": "0"}, None))
    fake.answer(
        "GET", "/op/2", (200, {}, {"status": "Failed", "error": {"message": "services still deployed"}})
    )
    with pytest.raises(DetachError, match=r"computes/gpu: failed: services still deployed"):
        detach_compute(COMPUTE_ID, {"Authorization": TOKEN}, arm=base, sleep=lambda _s: None)


def test_a_refused_delete_fails_without_the_token_in_the_message(azure):
    fake, base = azure
    fake.answer(
        "DELETE", COMPUTE_ID, (400, {}, {"error": {"message": "underlyingResourceAction is required"}})
    )
    with pytest.raises(DetachError) as raised:
        detach_compute(COMPUTE_ID, {"Authorization": TOKEN}, arm=base, sleep=lambda _s: None)
    assert "HTTP 400 (underlyingResourceAction is required)" in str(raised.value)
    assert "not-a-real-token" not in str(raised.value)


def test_an_operation_that_never_ends_times_out(azure):
    fake, base = azure
    fake.answer("DELETE", COMPUTE_ID, (202, {"Location": "{base}/op/3", "Retry-After": "0"}, None))
    fake.answer("GET", "/op/3", (202, {"Retry-After": "5"}, None))
    with pytest.raises(DetachError, match="not finished after 1 s"):
        detach_compute(COMPUTE_ID, {}, arm=base, timeout_s=1, sleep=lambda _s: None)


def _kubeconfig(server: str) -> str:
    return (
        "apiVersion: v1\nkind: Config\ncurrent-context: admin\n"
        f"clusters:\n- name: aks\n  cluster: {{server: '{server}'}}\n"
        "contexts:\n- name: admin\n  context: {cluster: aks, user: clusterAdmin}\n"
        "users:\n- name: clusterAdmin\n  user: {token: kube-token-not-real}\n"
    )


def test_the_v1_router_objects_are_deleted_and_missing_ones_skipped(azure):
    fake, base = azure
    fake.answer("DELETE", "/api/v1/namespaces/default/services/azureml-fe", (200, {}, {}))
    fake.answer("DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterroles/azureml-fe-role", (200, {}, {}))
    removed = remove_legacy_router(_kubeconfig(base))
    assert removed == ["clusterroles/azureml-fe-role", "services/azureml-fe"]
    paths = [path for method, path, _ in fake.requests if method == "DELETE"]
    assert len(paths) == len(LEGACY_ROUTER_OBJECTS)
    assert "/apis/apps/v1/namespaces/default/deployments/azureml-fe" in paths
    assert all(h["Authorization"] == "Bearer kube-token-not-real" for _, _, h in fake.requests)


def test_a_kubeconfig_that_cant_be_read_fails_without_showing_it():
    with pytest.raises(DetachError) as raised:
        remove_legacy_router("users: [{name: x, user: {token: s3cret}}]\nclusters: not-a-list")
    assert "s3cret" not in str(raised.value)


def test_run_detach_detaches_then_clears_the_router_for_a_v1_attach(azure):
    fake, base = azure
    fake.answer("DELETE", COMPUTE_ID, (200, {}, None))
    logs: list[str] = []
    request = DetachRequest(COMPUTE_ID, COMPUTE_API_VERSION, _kubeconfig(base))
    run_detach(request, {"Authorization": TOKEN}, logs.append, arm=base, sleep=lambda _s: None)
    assert fake.requests[0][0] == "DELETE" and "underlyingResourceAction=Detach" in fake.requests[0][1]
    assert len(fake.requests) == 1 + len(LEGACY_ROUTER_OBJECTS)
    assert logs == ["compute gpu: detached", "v1 router objects removed: none were left"]


def test_the_detachment_is_replaced_when_its_compute_is_and_updated_otherwise():
    provider = ComputeDetachmentProvider()
    olds = {"compute_id": COMPUTE_ID, "api_version": COMPUTE_API_VERSION, "__provider": "x"}
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown, as a replaced compute's id
    replaced = provider.diff(COMPUTE_ID, olds, {**olds, "compute_id": unknown})
    assert replaced.replaces == ["compute_id"] and replaced.delete_before_replace
    same = provider.diff(COMPUTE_ID, olds, dict(olds))
    assert same.changes is False and same.replaces == []
    newer = provider.diff(COMPUTE_ID, olds, {**olds, "api_version": "2026-01-01"})
    assert newer.changes and newer.replaces == []


def test_the_api_version_is_azure_natives_for_compute():
    # Read, not imported: importing the submodule by path breaks azure-native's lazy loading of
    # `machinelearningservices.Compute` for every later test in the process.
    spec = importlib.util.find_spec("pulumi_azure_native.machinelearningservices.compute")
    assert spec is not None and spec.origin is not None
    stated = set(
        re.findall(r"Uses Azure REST API version (\d{4}-\d{2}-\d{2})", Path(spec.origin).read_text())
    )
    assert stated == {COMPUTE_API_VERSION}
