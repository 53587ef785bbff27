"""The `cluster.existing` section: deploy onto a cluster or compute this stack does not own.

Only what names the adopted thing is configured; its pool (size, node count, surge) is read from
Azure at preview (adopted_pool.py), so the keys that shape a cluster of the stack's own are refused
beside it, and with an adopted compute so are the attach settings (the compute is used as it is).
"""

from __future__ import annotations

from collections.abc import Mapping

from config.reader import Cast, Reader, text
from config.types import ExistingCluster
from rules import values
from rules.checks import Rule

EXISTING_FIELDS: Mapping[str, tuple[str, Cast, Rule | None]] = {
    "computeName": ("compute_name", text, values.COMPUTE_NAME),
    "clusterId": ("cluster_id", text, values.AKS_CLUSTER_ID),
    "nodePool": ("node_pool", text, values.NODE_POOL_NAME),
}
KEYS = {"cluster.existing": tuple(EXISTING_FIELDS)}
# What the adopted pool decides (read from Azure), and what an adopted compute already has.
POOL_SHAPE_KEYS = ("vmSize", "nodeCount", "kubernetesVersion", "upgradeMaxSurge")
ATTACH_KEYS = ("purpose", "loadBalancerType", "ssl")
V2_TARGET = "azure-v2"


def read_existing_cluster(
    reader: Reader, target: str | None, workspace_adopted: bool
) -> ExistingCluster | None:
    """`cluster.existing`, or None when it is not set or invalid (the problems say which)."""
    if reader.raw("cluster.existing") is None:
        return None
    if target not in ("azure", V2_TARGET):
        reader.fail("cluster.existing", reader.raw("cluster.existing"), "only with target azure or azure-v2")
        return None
    before = len(reader.problems)
    fields = reader.section("cluster.existing", EXISTING_FIELDS)
    given = [key for key in ("computeName", "clusterId") if reader.raw(f"cluster.existing.{key}") is not None]
    if len(given) != 1:
        reader.fail(
            "cluster.existing",
            reader.raw("cluster.existing"),
            "exactly one of computeName (a compute the workspace has) or clusterId (an AKS cluster "
            "the stack attaches)",
        )
    adopts_compute = given == ["computeName"]
    if adopts_compute and not workspace_adopted:
        reader.fail(
            "cluster.existing.computeName",
            reader.raw("cluster.existing.computeName"),
            "only with workspace.existing (a workspace this stack creates has no computes yet): "
            "set workspace.existing, or adopt the cluster by cluster.existing.clusterId",
        )
    if reader.raw("cluster.existing.nodePool") is not None and target != V2_TARGET:
        reader.fail(
            "cluster.existing.nodePool",
            reader.raw("cluster.existing.nodePool"),
            f"only with target {V2_TARGET}: SDK v1 deploys to the cluster's first node pool only",
        )
    refused = [*POOL_SHAPE_KEYS, *(ATTACH_KEYS if adopts_compute else ())]
    for key in refused:
        if reader.raw(f"cluster.{key}") is not None:
            reader.fail(
                f"cluster.{key}",
                reader.raw(f"cluster.{key}"),
                _why_refused(key),
            )
    if adopts_compute:
        for key in ("sslCertificate", "sslKey"):
            if reader.raw(key) is not None:
                reader.fail(key, "[hidden]", _why_refused("ssl"))
    if reader.failed_since(before):
        return None
    return ExistingCluster(**fields)


def _why_refused(key: str) -> str:
    if key in POOL_SHAPE_KEYS:
        return (
            "not with cluster.existing: the adopted cluster's pool decides it (read from Azure at "
            "preview); unset it"
        )
    return (
        "not with cluster.existing.computeName: the adopted compute is used as it is, with its own "
        "attach settings; unset it, or adopt by clusterId to attach with these settings"
    )
