"""Set an online endpoint's traffic to 0% before its deployments are deleted (azure-v2 destroy).

Whether Azure ML deletes a deployment that still has traffic is not documented, and the program
can't find out here (Azure is unreachable): so the destroy never asks. The engine deletes the
`TrafficDrain` (v2/traffic_drain.py) before the deployments it depends on, and its delete PUTs the
endpoint with an empty traffic map, the endpoint's other properties as Azure reports them (a PUT
replaces the whole resource; one without the properties would change them):

    GET {endpoint id}?api-version=…           404: gone already, nothing to drain
    PUT {endpoint id}?api-version=…           {location, tags, kind, identity.type, properties
                                              with traffic {}}, then ARM's async operation
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from deployment.arm.compute_detach import (
    ARM,
    HTTP_TIMEOUT_S,
    POLL_INTERVAL_S,
    DetachError,
    Http,
    _status,
    wait_for_operation,
)

DRAIN_TIMEOUT_S = 10 * 60.0
# What GET reports that a PUT must not send back (read-only or the service's own).
READ_ONLY_PROPERTIES = ("provisioningState", "scoringUri", "swaggerUri", "openapiUri", "mirrorTraffic")


def drain_traffic(
    endpoint_id: str,
    headers: Mapping[str, str],
    *,
    api_version: str,
    arm: str = ARM,
    http: Http = requests.request,
    timeout_s: float = DRAIN_TIMEOUT_S,
    poll_interval_s: float = POLL_INTERVAL_S,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Put the endpoint's traffic at 0%; False when there was nothing to drain (gone, or none)."""
    url = f"{arm}{endpoint_id}"
    params = {"api-version": api_version}
    what = f"draining the traffic of endpoint {endpoint_id.rsplit('/', 1)[-1]}"
    found = http("GET", url, params=params, headers=dict(headers), timeout=HTTP_TIMEOUT_S)
    if found.status_code == 404:
        return False
    if found.status_code != 200:
        raise DetachError(f"{what}: {_status(found)}")
    endpoint = found.json()
    properties = dict(endpoint.get("properties") or {})
    if not any((properties.get("traffic") or {}).values()):
        return False
    body = drained_body(endpoint)
    response = http("PUT", url, params=params, json=body, headers=dict(headers), timeout=HTTP_TIMEOUT_S)
    if response.status_code == 200:
        return True
    if response.status_code not in (201, 202):
        raise DetachError(f"{what}: {_status(response)}")
    wait_for_operation(response, what, headers, http, timeout_s, poll_interval_s, sleep)
    return True


def drained_body(endpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The PUT body of `endpoint` (as GET returned it) with no traffic."""
    properties = {
        k: v for k, v in (endpoint.get("properties") or {}).items() if k not in READ_ONLY_PROPERTIES
    }
    body: dict[str, Any] = {"location": endpoint["location"], "properties": {**properties, "traffic": {}}}
    for key in ("tags", "kind"):
        if endpoint.get(key) is not None:
            body[key] = endpoint[key]
    identity = endpoint.get("identity") or {}
    if identity.get("type"):
        body["identity"] = {"type": identity["type"]}
    return body
