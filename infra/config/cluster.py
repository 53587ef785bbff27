"""The `cluster` section (GPU AKS pool, TLS) and the rules that tie the service to that pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.reader import Cast, Reader, boolean, choices, text, whole_number
from config.types import (
    ClusterConfig,
    ClusterPurpose,
    ExistingCluster,
    LoadBalancerType,
    Secret,
    SslConfig,
)
from deployment.settings import ServiceSettings
from rules import values
from rules.aks_nodes import allocatable_cpu_cores, allocatable_memory_gib, floor2
from rules.checks import Rule, one_of
from rules.gpu_sizes import GPU_SIZES, canonical_size, retired_replacement

# azureml-core's AKS attach refuses a FastProd cluster smaller than this.
FAST_PROD_MIN_NODES = 3
FAST_PROD_MIN_VCPUS = 12
SECRET_KEYS = ("sslCertificate", "sslKey")

# config key → (ClusterConfig field, cast, rule); `vmSize` and `ssl` are read by their own functions.
CLUSTER_FIELDS: Mapping[str, tuple[str, Cast, Rule | None]] = {
    "nodeCount": ("node_count", whole_number, values.NODE_COUNT),
    "kubernetesVersion": ("kubernetes_version", text, values.KUBERNETES_VERSION),
    "purpose": ("purpose", text, one_of(choices(ClusterPurpose))),
    "loadBalancerType": ("load_balancer_type", text, one_of(choices(LoadBalancerType))),
    "upgradeMaxSurge": ("upgrade_max_surge", whole_number, values.UPGRADE_MAX_SURGE),
}
SSL_FIELDS: Mapping[str, tuple[str, Cast, Rule | None]] = {
    "leafDomainLabel": ("leaf_domain_label", text, values.LEAF_DOMAIN_LABEL),
    "overwriteExistingDomain": ("overwrite_existing_domain", boolean, None),
    "cname": ("cname", text, values.CNAME),
}
KEYS = {
    "cluster": ("vmSize", *CLUSTER_FIELDS, "ssl", "existing"),
    "cluster.ssl": tuple(SSL_FIELDS),
}


def read_cluster(
    reader: Reader, secret_keys: frozenset[str], existing: ExistingCluster | None = None
) -> ClusterConfig | None:
    """The cluster, or None when one of its values is invalid (the problems say which).
    `existing`: the adopted cluster (config/existing_cluster.py), whose pool is read later."""
    before = len(reader.problems)
    vm_size = _vm_size(reader)
    fields = reader.section("cluster", CLUSTER_FIELDS)
    invalid = reader.failed_since(before)
    ssl = _ssl(reader, secret_keys)
    if invalid:
        return None
    given: dict[str, Any] = {**fields, **({"vm_size": vm_size} if vm_size else {})}
    cluster = ClusterConfig(**given, ssl=ssl, existing=existing)
    if ssl is not None and ssl.leaf_domain_label and cluster.load_balancer_type == "InternalLoadBalancer":
        # Azure ML issues the Microsoft certificate for a public name only.
        reader.fail(
            "cluster.ssl.leafDomainLabel",
            ssl.leaf_domain_label,
            "not with cluster.loadBalancerType = InternalLoadBalancer (a leaf domain label is a "
            "public name): use PublicIp, or your own certificate (sslCertificate/sslKey with cname)",
        )
    if existing is None:  # an adopted pool is checked once it is read (adopted_pool.py)
        check_fast_prod(reader, cluster)
    return cluster


def check_fast_prod(reader: Reader, cluster: ClusterConfig) -> None:
    """azureml-core's attach refuses a FastProd cluster below these sizes."""
    if cluster.purpose != "FastProd":
        return
    if cluster.node_count < FAST_PROD_MIN_NODES:
        reader.fail("cluster.nodeCount", cluster.node_count, f"≥ {FAST_PROD_MIN_NODES} with purpose FastProd")
    total_vcpus = cluster.node_count * cluster.gpu_size.vcpus
    if total_vcpus < FAST_PROD_MIN_VCPUS:
        reader.fail(
            "cluster.vmSize",
            cluster.vm_size,
            f"FastProd needs ≥ {FAST_PROD_MIN_VCPUS} vCPUs in total; "
            f"{cluster.node_count} × {cluster.vm_size} has {total_vcpus}",
        )


def _vm_size(reader: Reader) -> str | None:
    value = reader.read("cluster.vmSize", text)
    if value is None:
        return None
    canonical = canonical_size(value)
    if canonical:
        return canonical
    replacement = retired_replacement(value)
    if replacement:
        reader.fail("cluster.vmSize", value, f"retired by Azure; use {replacement} (same GPUs per VM)")
    else:
        reader.fail("cluster.vmSize", value, "one of the current GPU sizes: " + ", ".join(GPU_SIZES))
    return None


def _ssl(reader: Reader, secret_keys: frozenset[str]) -> SslConfig | None:
    fields = reader.section("cluster.ssl", SSL_FIELDS)
    secrets = {key: _secret(reader, key, secret_keys) for key in SECRET_KEYS}
    given = {key for key in SECRET_KEYS if reader.raw(key) is not None}
    if len(given) == 1:
        (missing,) = set(SECRET_KEYS) - given
        reader.fail(missing, None, "required with the other one: a certificate needs its key")
    label = fields.get("leaf_domain_label")
    if label and given:
        reader.fail(
            "cluster.ssl.leafDomainLabel",
            label,
            "either a leaf domain label or sslCertificate/sslKey, not both",
        )
    if given and reader.raw("cluster.ssl.cname") is None:
        reader.fail(
            "cluster.ssl.cname", None, "required with sslCertificate/sslKey: the name the certificate is for"
        )
    if label is None and not any(secrets.values()):
        return None
    return SslConfig(**fields, certificate=secrets["sslCertificate"], key=secrets["sslKey"])


def _secret(reader: Reader, key: str, secret_keys: frozenset[str]) -> Secret | None:
    """A PEM text from secret config; the value itself never reaches a message."""
    raw = reader.raw(key)
    if raw is None:
        return None
    if key not in secret_keys:
        reader.fail(key, "[hidden]", f"must be secret config: pulumi config set --secret {key} < file.pem")
        return None
    if not isinstance(raw, str) or "-----BEGIN" not in raw:
        reader.fail(key, "[secret]", "a PEM text (-----BEGIN ...)")
        return None
    return Secret(raw)


def check_service_fits_cluster(reader: Reader, service: ServiceSettings, cluster: ClusterConfig) -> None:
    """AKS schedules a replica on one node and never shares a GPU between pods."""
    size = cluster.gpu_size
    if service.gpu_cores > size.gpus:
        reader.fail(
            "service.gpuCores", service.gpu_cores, f"≤ {size.gpus}: a {size.name} node has {size.gpus}"
        )
    cpu = floor2(allocatable_cpu_cores(size.vcpus))
    if service.cpu_cores > cpu:
        reader.fail(
            "service.cpuCores",
            service.cpu_cores,
            f"≤ {cpu:g}: a {size.name} node has {size.vcpus} vCPUs, {cpu:g} of them allocatable to pods",
        )
    memory = floor2(allocatable_memory_gib(size.memory_gib))
    if service.memory_gb > memory:
        reader.fail(
            "service.memoryGb",
            service.memory_gb,
            f"≤ {memory:g}: a {size.name} node has {size.memory_gib} GiB, {memory:g} allocatable to pods",
        )
    autoscaled = service.autoscale.enabled
    replicas = service.autoscale.max_replicas if autoscaled else service.replicas
    needed = replicas * service.gpu_cores
    if needed > cluster.total_gpus:
        key = "service.autoscale.maxReplicas" if autoscaled else "service.replicas"
        most = cluster.total_gpus // service.gpu_cores
        reader.fail(
            key,
            replicas,
            f"≤ {most}: {replicas} × {service.gpu_cores} GPU = {needed} GPUs, but the pool has "
            f"{cluster.node_count} × {size.name} = {cluster.total_gpus} GPUs (AKS pods can't share a GPU)",
        )
