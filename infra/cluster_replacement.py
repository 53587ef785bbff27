"""azure-v2 refuses, at preview, a new VM size for the stack's own live cluster.

AKS can't change a pool's VM size, so a new `cluster.vmSize` replaces the cluster, and the
engine then replaces, delete first, everything that lives on it: the extension, the compute, the
endpoint and its deployment. The endpoint is created again with the traffic that served before
the run, naming a deployment that no longer exists, and the traffic steps, unchanged, are not
run again: the service would come back with no traffic, if Azure took the endpoint at all. The
program can't see the old size in its own inputs, so it reads the live cluster (azure-native's
getManagedCluster, as the adoption does) and refuses the change with the ways out. A first run
(no cluster yet) and an unreadable cluster pass; the latter says the change was not checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config import ConfigError, Problem, StackConfig


def check_cluster_not_replaced(
    cfg: StackConfig,
    resource_group: str,
    cluster_name: str,
    pool_name: str,
    read_cluster: Callable[[str, str], Any],
    warn: Callable[[str], None],
) -> None:
    """Raise ConfigError where the live cluster's `pool_name` runs another size than the config's."""
    if cfg.target != "azure-v2" or cfg.cluster.existing is not None:
        return
    try:
        live = read_cluster(resource_group, cluster_name)
    except Exception as error:  # the engine's invoke error carries Azure's answer as text
        text = " ".join(str(error).split())
        if "404" not in text and "NotFound" not in text:
            warn(
                f"cluster {cluster_name}: could not be read ({text[:200]}), so a cluster.vmSize "
                "change, which would replace the cluster and everything on it, was not checked"
            )
        return
    pools = {p.name: p for p in (live.agent_pool_profiles or [])}
    pool = pools.get(pool_name)
    live_size = pool.vm_size if pool is not None else None
    wanted = cfg.cluster.vm_size
    if live_size is None or live_size.lower() == wanted.lower():
        return
    raise ConfigError(
        [
            Problem(
                "cluster.vmSize",
                wanted,
                f"the live cluster {cluster_name} runs {live_size} in pool {pool_name}. AKS can't "
                "resize a pool, so a new size replaces the cluster and, delete first, everything on it "
                "(the AzureML extension, the compute, the endpoint with new keys, its deployment), and "
                "the endpoint would come back with no traffic. Keep cluster.vmSize "
                f"{live_size}, or move side by side: a new stack with its own nameSuffix and the new "
                "size, `pulumi up` it, move callers to its scoring_uri and key, then `pulumi destroy` "
                "this one (docs/azure-v2.md, 'Changing the VM size')",
            )
        ]
    )
