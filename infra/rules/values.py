"""The value rules of the stack config and the provider's `check`: names and ranges.

Ranges of the service settings are keyed by `ServiceSettings`/`Autoscale` field names, which are
also the provider's input names; the stack config maps its camelCase keys onto them.
"""

from __future__ import annotations

import itertools

from .checks import Rule, matching, positive, whole

# Azure ML's rule for service names, applied to every backend so that a stack can move targets.
SERVICE_NAME = matching(
    r"[a-z][a-z0-9-]{1,30}[a-z0-9]",
    "3–32 lowercase letters, digits and dashes, starting with a letter and not ending with a dash",
)
# Azure ML model names are ASCII; a Unicode letter would pass Python's \w and fail at registration.
MODEL_NAME = matching(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}",
    "1–255 ASCII letters, digits, - _ and ., starting with a letter or digit",
)
NAME_PREFIX = matching(r"[a-z][a-z0-9]{1,7}", "2–8 lowercase letters and digits, starting with a letter")
NAME_SUFFIX = matching(r"[a-z0-9]{4,8}", "4–8 lowercase letters and digits")
LOCATION = matching(r"[a-z0-9]+", "an Azure region name like eastus")
SUBSCRIPTION_ID = matching(
    r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", "a subscription id (a GUID)"
)
RESOURCE_GROUP = matching(r"[-\w._()]{1,90}", "a resource group name: 1–90 letters, digits, - _ . ( )")
WORKSPACE_NAME = matching(
    r"[a-zA-Z0-9][\w-]{2,32}",
    "a workspace name: 3–33 letters, digits, - and _, starting with a letter or digit",
)
# An AKS cluster's ARM id; the policy pack parses attaches with the same pattern.
AKS_CLUSTER_ID_PATTERN = (
    r"/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.ContainerService/managedClusters/(?P<name>[^/]+)"
)
AKS_CLUSTER_ID = matching(
    "(?i)" + AKS_CLUSTER_ID_PATTERN,
    "an AKS cluster's resource id: /subscriptions/<id>/resourceGroups/<group>"
    "/providers/Microsoft.ContainerService/managedClusters/<name>",
)
# Azure ML compute names (the 2–16 characters azureml-core's compute classes check).
COMPUTE_NAME = matching(
    r"[A-Za-z][A-Za-z0-9-]{0,14}[A-Za-z0-9]",
    "a compute name: 2–16 letters, digits and dashes, starting with a letter, not ending with a dash",
)
NODE_POOL_NAME = matching(r"[a-z][a-z0-9]{0,11}", "an AKS node pool name: 1–12 lowercase letters and digits")
KUBERNETES_VERSION = matching(r"\d+\.\d+(\.\d+)?", "a Kubernetes version like 1.33 or 1.33.2")
LEAF_DOMAIN_LABEL = matching(
    r"[a-z][a-z0-9-]{0,61}[a-z0-9]",
    "1–63 lowercase letters, digits and dashes, starting with a letter, not ending with a dash",
)
CNAME = matching(
    r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    "a DNS host name like ml.example.com (the name the certificate is for)",
)

NODE_COUNT = whole(1, 100)
# Nodes AKS adds while it upgrades a pool (upgradeSettings.maxSurge as a node count).
UPGRADE_MAX_SURGE = whole(1, 100)
LOCAL_WORKERS = whole(1, 64)

SERVICE_SETTINGS: dict[str, Rule] = {
    "replicas": whole(1),
    "cpu_cores": positive(),
    "memory_gb": positive(),
    "gpu_cores": whole(1),  # a GPU service: a replica without a GPU is not what we deploy
    "scoring_timeout_ms": whole(1),
    "max_concurrent_requests_per_replica": whole(1),
}
AUTOSCALE: dict[str, Rule] = {
    "min_replicas": whole(1),
    "max_replicas": whole(1),
    "target_utilization": whole(1, 100),  # a percentage
}


def _traffic_steps(steps: object) -> bool:
    if not isinstance(steps, (list, tuple)) or not steps:
        return False
    if not all(isinstance(step, int) and not isinstance(step, bool) and 1 <= step <= 100 for step in steps):
        return False
    return steps[-1] == 100 and all(a < b for a, b in itertools.pairwise(steps))


# The azure-v2 blue/green rollout: percent of the traffic on the new colour after each step.
TRAFFIC_STEPS = Rule("increasing whole percentages from 1, ending in 100 (e.g. [10, 100])", _traffic_steps)
