"""The destroy's traffic drain (deployment/arm/traffic_drain.py) against a real local HTTP server that
plays ARM (the `azure` fixture): what it reads, what it PUTs back, when it sends nothing."""

from __future__ import annotations

import pytest

from deployment.arm.compute_detach import DetachError
from deployment.arm.traffic_drain import drain_traffic, drained_body

ENDPOINT_ID = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/"
    "Microsoft.MachineLearningServices/workspaces/mlw/onlineEndpoints/aks-dnn-mnist-abc123"
)
API_VERSION = "2025-12-01"
SERVING = {
    "id": ENDPOINT_ID,
    "name": "aks-dnn-mnist-abc123",
    "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
    "location": "eastus",
    "tags": {"owner": "ml-platform", "expires-on": "2026-12-31"},
    "identity": {"type": "SystemAssigned", "principalId": "p", "tenantId": "t"},
    "systemData": {"createdBy": "someone"},
    "properties": {
        "authMode": "Key",
        "compute": "/subscriptions/x/computes/gpu",
        "description": "the how-to's MNIST model",
        "traffic": {"blue": 100},
        "provisioningState": "Succeeded",
        "scoringUri": "http://router/score",
        "swaggerUri": "http://router/swagger.json",
    },
}


def test_a_serving_endpoint_is_put_back_with_no_traffic_and_its_own_properties(azure):
    fake, base = azure
    fake.answer("GET", ENDPOINT_ID, (200, {}, SERVING))
    fake.answer("PUT", ENDPOINT_ID, (202, {"Azure-AsyncOperation": "{base}/op/9", "Retry-After": "0"}, None))
    fake.answer("GET", "/op/9", (200, {}, {"status": "Succeeded"}))
    assert drain_traffic(ENDPOINT_ID, {}, api_version=API_VERSION, arm=base, sleep=lambda _s: None) is True
    assert [(method, path.partition("?")[0]) for method, path, _ in fake.requests] == [
        ("GET", ENDPOINT_ID),
        ("PUT", ENDPOINT_ID),
        ("GET", "/op/9"),
    ]
    assert f"api-version={API_VERSION}" in fake.requests[1][1]
    (body,) = fake.bodies
    assert body == {
        "location": "eastus",
        "tags": SERVING["tags"],
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "authMode": "Key",
            "compute": "/subscriptions/x/computes/gpu",
            "description": "the how-to's MNIST model",
            "traffic": {},
        },
    }


def test_nothing_is_sent_when_the_endpoint_is_gone_or_serves_nothing(azure):
    fake, base = azure
    assert drain_traffic(ENDPOINT_ID, {}, api_version=API_VERSION, arm=base) is False  # 404
    idle = {**SERVING, "properties": {**SERVING["properties"], "traffic": {"blue": 0}}}
    fake.answer("GET", ENDPOINT_ID, (200, {}, idle))
    assert drain_traffic(ENDPOINT_ID, {}, api_version=API_VERSION, arm=base) is False
    assert [method for method, _, _ in fake.requests] == ["GET", "GET"]


def test_a_refused_put_names_the_endpoint_and_azures_message(azure):
    fake, base = azure
    fake.answer("GET", ENDPOINT_ID, (200, {}, SERVING))
    fake.answer("PUT", ENDPOINT_ID, (409, {}, {"error": {"message": "an operation is in progress"}}))
    with pytest.raises(
        DetachError, match=r"endpoint aks-dnn-mnist-abc123: HTTP 409 \(an operation is in progress\)"
    ):
        drain_traffic(ENDPOINT_ID, {}, api_version=API_VERSION, arm=base)


def test_the_body_keeps_kind_and_drops_what_only_azure_reports():
    body = drained_body({**SERVING, "kind": "Kubernetes"})
    assert body["kind"] == "Kubernetes"
    assert set(body["properties"]) == {"authMode", "compute", "description", "traffic"}
