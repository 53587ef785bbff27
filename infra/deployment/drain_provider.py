"""TrafficDrainProvider: the dynamic provider of `TrafficDrain` (v2/traffic_drain.py).

Create and update send nothing; delete sets the endpoint's traffic to 0% (traffic_drain.py). It
holds no state: the SDK pickles the class by reference to `deployment.drain_provider`, and
credentials are found per call, as the detach step's provider does.
"""

from __future__ import annotations

import os
from typing import Any

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from deployment.compute_detach import arm_headers
from deployment.provider import log_progress
from deployment.traffic_drain import drain_traffic

REPLACE_ON = ("endpoint_id",)


class TrafficDrainProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(str(props["endpoint_id"]), dict(props))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = {k for k in set(olds) | set(news) if k != "__provider"}
        changed = sorted(k for k in keys if olds.get(k) != news.get(k))
        replaces = [k for k in changed if k in REPLACE_ON]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(dict(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        endpoint_id = str(props["endpoint_id"])
        drained = drain_traffic(endpoint_id, arm_headers(os.environ), api_version=str(props["api_version"]))
        name = endpoint_id.rsplit("/", 1)[-1]
        log_progress(f"endpoint {name}: {'traffic set to 0%' if drained else 'no traffic to drain'}")
