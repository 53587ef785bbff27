"""The stack config: `Pulumi.<stack>.yaml` → a frozen, typed, validated `StackConfig`.

The config source is passed in as a mapping (`load_stack_config(source, ...)`), so tests hand in a
dict and the program hands in `pulumi_config_source()`. Keys may carry the namespace
(`aml-gpu-inference:target`) or not (`target`); keys of other namespaces are ignored; object
values may be JSON text (as the engine passes them) or dicts. Every key, its default and its
allowed values: docs/configuration.md.

Validation runs before any resource is registered and reports every problem at once:

    ConfigError(ValueError)      .problems: tuple[Problem, ...]
        Problem(key, value, allowed)   one line each: "<namespace>:<key> = <value>: <allowed>"
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from deployment.settings import Autoscale, ServiceSettings
from deployment.targets import LocalTarget
from gpu_sizes import GPU_SIZES, GpuSize, canonical_size, retired_replacement

NAMESPACE = "aml-gpu-inference"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

Target = Literal["azure", "local"]
ClusterPurpose = Literal["DevTest", "FastProd"]
LoadBalancerType = Literal["PublicIp", "InternalLoadBalancer"]

TARGETS = ("azure", "local")
CLUSTER_PURPOSES = ("DevTest", "FastProd")
LOAD_BALANCER_TYPES = ("PublicIp", "InternalLoadBalancer")
REQUIRED_TAGS = ("owner", "expires-on")
FAST_PROD_MIN_NODES = 3
FAST_PROD_MIN_VCPUS = 12

_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_NAME_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,7}$")
_NAME_SUFFIX = re.compile(r"^[a-z0-9]{4,8}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LEAF_DOMAIN_LABEL = re.compile(r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_K8S_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")
_TAG_NAME_FORBIDDEN = re.compile(r"[<>%&\\?/]")
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,90}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_WORKSPACE_NAME = re.compile(r"^[a-zA-Z0-9][\w-]{2,32}$")

# Keys (and nested keys) this program reads; anything else is a typo and reported as one.
_ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "": (
        "target",
        "location",
        "namePrefix",
        "nameSuffix",
        "tags",
        "workspace",
        "cluster",
        "service",
        "model",
        "local",
        "sslCertificate",
        "sslKey",
    ),
    "workspace": ("existing",),
    "workspace.existing": ("subscriptionId", "resourceGroup", "name"),
    "cluster": ("vmSize", "nodeCount", "kubernetesVersion", "purpose", "loadBalancerType", "ssl"),
    "cluster.ssl": ("leafDomainLabel", "overwriteExistingDomain", "cname"),
    "service": (
        "name",
        "replicas",
        "cpuCores",
        "memoryGb",
        "gpuCores",
        "autoscale",
        "authEnabled",
        "tokenAuthEnabled",
        "scoringTimeoutMs",
        "maxConcurrentRequestsPerReplica",
    ),
    "service.autoscale": ("enabled", "minReplicas", "maxReplicas", "targetUtilization"),
    "model": ("name", "dir"),
    "local": ("python", "stateDir", "workers"),
}
SECRET_KEYS = ("sslCertificate", "sslKey")

DEFAULTS: dict[str, Any] = {
    "target": "local",
    "location": "eastus",
    "namePrefix": "amlgpu",
    "cluster.vmSize": "Standard_NC4as_T4_v3",
    "cluster.nodeCount": 3,
    "cluster.purpose": "DevTest",
    "cluster.loadBalancerType": "PublicIp",
    "cluster.ssl.overwriteExistingDomain": False,
    "service.name": "aks-dnn-mnist",
    "service.authEnabled": True,
    "service.tokenAuthEnabled": False,
    "model.name": "mnist-dnn",
    "model.dir": "artifacts/model",
}


# ---------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class Problem:
    """One invalid value: which key, what it was, what is allowed."""

    key: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        return f"{NAMESPACE}:{self.key} = {_show(self.value)}: {self.allowed}"


class ConfigError(ValueError):
    """The stack config is invalid; `problems` lists every invalid value, in key order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid stack config ({count} problem{'s' if count != 1 else ''}):\n{lines}")


def _show(value: Any) -> str:
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value) if isinstance(value, (dict, list, bool)) or value is None else str(value)


# ---------------------------------------------------------------------------------------------
# The typed config


class Secret:
    """A value from secret config: never shown by repr/str; `reveal()` only where it is wrapped
    in `pulumi.Output.secret`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret([hidden])"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class ExistingWorkspace:
    """An Azure ML workspace that this stack uses but does not own (adopted, never deleted)."""

    subscription_id: str
    resource_group: str
    name: str


@dataclass(frozen=True)
class SslConfig:
    """TLS on the cluster's scoring endpoint: a Microsoft-issued certificate for
    `<leaf_domain_label>.<location>.cloudapp.azure.com`, or the user's certificate and key."""

    leaf_domain_label: str | None = None
    overwrite_existing_domain: bool = False
    cname: str | None = None  # the host name the certificate is for
    certificate: Secret | None = None
    key: Secret | None = None


@dataclass(frozen=True)
class ClusterConfig:
    vm_size: str = "Standard_NC4as_T4_v3"
    node_count: int = 3
    kubernetes_version: str | None = None
    purpose: ClusterPurpose = "DevTest"
    load_balancer_type: LoadBalancerType = "PublicIp"
    ssl: SslConfig | None = None

    @property
    def gpu_size(self) -> GpuSize:
        return GPU_SIZES[self.vm_size]

    @property
    def total_gpus(self) -> int:
        return self.node_count * self.gpu_size.gpus


@dataclass(frozen=True)
class StackConfig:
    """Everything the program needs to know about one stack, validated."""

    stack: str
    project_root: Path
    target: Target
    location: str
    name_prefix: str
    name_suffix: str  # lowercase alphanumerics, stable per stack: keeps global names unique
    tags: dict[str, str]
    existing_workspace: ExistingWorkspace | None
    cluster: ClusterConfig
    service_name: str
    service: ServiceSettings
    model_name: str
    model_dir: Path  # absolute
    local_target: LocalTarget | None = None  # set when target == "local"
    source_dir: Path = field(default=PROJECT_ROOT / "model_service")

    @property
    def environment_file(self) -> Path:
        """The scoring environment: the image's conda file on Azure, the virtualenv's pins locally."""
        name = "environment.yml" if self.target == "azure" else "requirements.txt"
        return self.source_dir / name


# ---------------------------------------------------------------------------------------------
# Loading


class _Reader:
    """Reads typed values out of the nested source, collecting problems instead of raising."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.problems: list[Problem] = []

    def fail(self, key: str, value: Any, allowed: str) -> None:
        self.problems.append(Problem(key, value, allowed))

    def raw(self, key: str) -> Any:
        node: Any = self.values
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def string(self, key: str, *, pattern: re.Pattern[str] | None = None, rule: str = "") -> str | None:
        value = self.raw(key)
        if value is None:
            value = DEFAULTS.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(key, value, rule or "a non-empty string")
            return None
        if pattern is not None and not pattern.match(value):
            self.fail(key, value, rule)
            return None
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str | None:
        value = self.raw(key)
        if value is None:
            return DEFAULTS.get(key)
        if value not in allowed:
            self.fail(key, value, "one of " + ", ".join(allowed))
            return None
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.raw(key)
        if value is None:
            return DEFAULTS.get(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.fail(key, value, "true or false")
        return None

    def integer(self, key: str, *, minimum: int, maximum: int | None = None) -> int | None:
        value = self.raw(key)
        if value is None:
            value = DEFAULTS.get(key)
        if value is None:
            return None
        number = _as_number(value)
        allowed = f"a whole number ≥ {minimum}" + (f" and ≤ {maximum}" if maximum is not None else "")
        if number is None or number != int(number) or number < minimum:
            self.fail(key, value, allowed)
            return None
        if maximum is not None and number > maximum:
            self.fail(key, value, allowed)
            return None
        return int(number)

    def positive(self, key: str) -> float | None:
        value = self.raw(key)
        if value is None:
            value = DEFAULTS.get(key)
        if value is None:
            return None
        number = _as_number(value)
        if number is None or number <= 0:
            self.fail(key, value, "a number > 0")
            return None
        return number


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _nest(source: Mapping[str, Any], problems: list[Problem]) -> dict[str, Any]:
    """Namespace-stripped top-level keys, with JSON object values parsed."""
    values: dict[str, Any] = {}
    for full_key, value in source.items():
        namespace, _, key = full_key.rpartition(":")
        if namespace not in ("", NAMESPACE):
            continue
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                problems.append(Problem(key, value, f"a YAML/JSON object ({e.msg})"))
                continue
        values[key] = value
    return values


def _unknown_keys(values: Mapping[str, Any], reader: _Reader) -> None:
    def walk(node: Mapping[str, Any], path: str) -> None:
        allowed = _ALLOWED_KEYS[path]
        for key, value in node.items():
            full = f"{path}.{key}" if path else key
            if key not in allowed:
                reader.fail(full, value, "unknown key; allowed here: " + ", ".join(allowed))
            elif full in _ALLOWED_KEYS:
                if isinstance(value, Mapping):
                    walk(value, full)
                else:
                    reader.fail(full, value, "an object with keys " + ", ".join(_ALLOWED_KEYS[full]))

    walk(values, "")


def _tags(reader: _Reader, target: str | None) -> dict[str, str]:
    raw = reader.raw("tags")
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        reader.fail("tags", raw, "an object with string values, including " + ", ".join(REQUIRED_TAGS))
        return {}
    tags: dict[str, str] = {}
    for name, value in raw.items():
        key = f"tags.{name}"
        if isinstance(value, date):
            value = value.isoformat()
        if not isinstance(name, str) or not name or len(name) > 512 or _TAG_NAME_FORBIDDEN.search(name):
            reader.fail(key, value, "a tag name of 1–512 characters without < > % & \\ ? /")
        elif not isinstance(value, str) or len(value) > 256:
            reader.fail(key, value, "a string of at most 256 characters")
        else:
            tags[name] = value
    if target == "azure":
        for name in REQUIRED_TAGS:
            if (name in tags and not tags[name].strip()) or name not in raw:
                reader.fail(f"tags.{name}", raw.get(name), "required on the azure target: a non-empty string")
    expires = tags.get("expires-on")
    if expires is not None and not _valid_iso_date(expires):
        reader.fail("tags.expires-on", expires, "an ISO date YYYY-MM-DD")
        tags.pop("expires-on")
    return tags


def _valid_iso_date(text: str) -> bool:
    if not _ISO_DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _existing_workspace(reader: _Reader) -> ExistingWorkspace | None:
    if reader.raw("workspace.existing") is None:
        return None
    subscription = reader.string(
        "workspace.existing.subscriptionId", pattern=_GUID, rule="a subscription id (a GUID)"
    )
    group = reader.string(
        "workspace.existing.resourceGroup",
        pattern=_RESOURCE_GROUP,
        rule="a resource group name: 1–90 letters, digits, - _ . ( )",
    )
    name = reader.string(
        "workspace.existing.name",
        pattern=_WORKSPACE_NAME,
        rule="a workspace name: 3–33 letters, digits, - and _, starting with a letter or digit",
    )
    for key, value in (("subscriptionId", subscription), ("resourceGroup", group), ("name", name)):
        full = f"workspace.existing.{key}"
        if value is None and reader.raw(full) is None:
            reader.fail(full, None, "required when adopting an existing workspace")
    if subscription and group and name:
        return ExistingWorkspace(subscription, group, name)
    return None


def _vm_size(reader: _Reader) -> str | None:
    value = reader.string("cluster.vmSize")
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


def _ssl(reader: _Reader, secret_keys: frozenset[str]) -> SslConfig | None:
    label = reader.string(
        "cluster.ssl.leafDomainLabel",
        pattern=_LEAF_DOMAIN_LABEL,
        rule="1–63 lowercase letters, digits and dashes, starting with a letter, not ending with a dash",
    )
    overwrite = reader.boolean("cluster.ssl.overwriteExistingDomain")
    cname = reader.string(
        "cluster.ssl.cname",
        pattern=re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"),
        rule="a DNS host name like ml.example.com (the name the certificate is for)",
    )
    secrets: dict[str, Secret | None] = {}
    for key in SECRET_KEYS:
        raw = reader.raw(key)
        if raw is None:
            secrets[key] = None
        elif key not in secret_keys:
            reader.fail(
                key, "[hidden]", f"must be secret config: pulumi config set --secret {key} < file.pem"
            )
            secrets[key] = None
        elif not isinstance(raw, str) or "-----BEGIN" not in raw:
            reader.fail(key, "[secret]", "a PEM text (-----BEGIN ...)")
            secrets[key] = None
        else:
            secrets[key] = Secret(raw)
    certificate, key = secrets["sslCertificate"], secrets["sslKey"]
    has_pair = reader.raw("sslCertificate") is not None or reader.raw("sslKey") is not None
    if has_pair and (reader.raw("sslCertificate") is None) != (reader.raw("sslKey") is None):
        missing = "sslKey" if reader.raw("sslKey") is None else "sslCertificate"
        reader.fail(missing, None, "required with the other one: a certificate needs its key")
    if label and has_pair:
        reader.fail(
            "cluster.ssl.leafDomainLabel",
            label,
            "either a leaf domain label or sslCertificate/sslKey, not both",
        )
    if has_pair and cname is None and reader.raw("cluster.ssl.cname") is None:
        reader.fail(
            "cluster.ssl.cname", None, "required with sslCertificate/sslKey: the name the certificate is for"
        )
    if label is None and certificate is None and key is None:
        return None
    return SslConfig(label, bool(overwrite), cname, certificate, key)


def _cluster(reader: _Reader, secret_keys: frozenset[str]) -> ClusterConfig | None:
    vm_size = _vm_size(reader)
    node_count = reader.integer("cluster.nodeCount", minimum=1, maximum=100)
    version = reader.string(
        "cluster.kubernetesVersion", pattern=_K8S_VERSION, rule="a Kubernetes version like 1.33 or 1.33.2"
    )
    purpose = reader.choice("cluster.purpose", CLUSTER_PURPOSES)
    load_balancer = reader.choice("cluster.loadBalancerType", LOAD_BALANCER_TYPES)
    ssl = _ssl(reader, secret_keys)
    if vm_size is None or node_count is None or purpose is None or load_balancer is None:
        return None
    cluster = ClusterConfig(vm_size, node_count, version, purpose, load_balancer, ssl)  # type: ignore[arg-type]
    if purpose == "FastProd":
        if node_count < FAST_PROD_MIN_NODES:
            reader.fail("cluster.nodeCount", node_count, f"≥ {FAST_PROD_MIN_NODES} with purpose FastProd")
        total_vcpus = node_count * cluster.gpu_size.vcpus
        if total_vcpus < FAST_PROD_MIN_VCPUS:
            reader.fail(
                "cluster.vmSize",
                vm_size,
                f"FastProd needs ≥ {FAST_PROD_MIN_VCPUS} vCPUs in total; "
                f"{node_count} × {vm_size} has {total_vcpus}",
            )
    return cluster


def _service(reader: _Reader) -> ServiceSettings | None:
    before = len(reader.problems)
    replicas = reader.integer("service.replicas", minimum=1)
    cpu = reader.positive("service.cpuCores")
    memory = reader.positive("service.memoryGb")
    gpus = reader.integer("service.gpuCores", minimum=1)
    autoscale_enabled = reader.boolean("service.autoscale.enabled")
    min_replicas = reader.integer("service.autoscale.minReplicas", minimum=1)
    max_replicas = reader.integer("service.autoscale.maxReplicas", minimum=1)
    utilization = reader.integer("service.autoscale.targetUtilization", minimum=1, maximum=100)
    key_auth = reader.boolean("service.authEnabled")
    token_auth = reader.boolean("service.tokenAuthEnabled")
    timeout = reader.integer("service.scoringTimeoutMs", minimum=1)
    concurrency = reader.integer("service.maxConcurrentRequestsPerReplica", minimum=1)
    if key_auth and token_auth:
        reader.fail(
            "service.tokenAuthEnabled",
            True,
            "not together with service.authEnabled = true: choose key auth or token auth",
        )
    if min_replicas is not None and max_replicas is not None and min_replicas > max_replicas:
        reader.fail(
            "service.autoscale.minReplicas", min_replicas, f"≤ service.autoscale.maxReplicas ({max_replicas})"
        )
    if len(reader.problems) > before:
        return None
    defaults = ServiceSettings()
    default_autoscale = defaults.autoscale
    return ServiceSettings(
        replicas=replicas if replicas is not None else defaults.replicas,
        cpu_cores=cpu if cpu is not None else defaults.cpu_cores,
        memory_gb=memory if memory is not None else defaults.memory_gb,
        gpu_cores=gpus if gpus is not None else defaults.gpu_cores,
        autoscale=Autoscale(
            enabled=bool(autoscale_enabled),
            min_replicas=min_replicas if min_replicas is not None else default_autoscale.min_replicas,
            max_replicas=max_replicas if max_replicas is not None else default_autoscale.max_replicas,
            target_utilization=utilization
            if utilization is not None
            else default_autoscale.target_utilization,
        ),
        auth="key" if key_auth else "token" if token_auth else "none",
        scoring_timeout_ms=timeout if timeout is not None else defaults.scoring_timeout_ms,
        max_concurrent_requests_per_replica=(
            concurrency if concurrency is not None else defaults.max_concurrent_requests_per_replica
        ),
    )


def _fits_cluster(reader: _Reader, service: ServiceSettings, cluster: ClusterConfig) -> None:
    """AKS schedules a replica on one node and never shares a GPU between pods."""
    size = cluster.gpu_size
    if service.gpu_cores > size.gpus:
        reader.fail(
            "service.gpuCores", service.gpu_cores, f"≤ {size.gpus}: a {size.name} node has {size.gpus}"
        )
    if service.cpu_cores > size.vcpus:
        reader.fail(
            "service.cpuCores", service.cpu_cores, f"≤ {size.vcpus}: a {size.name} node has {size.vcpus}"
        )
    if service.memory_gb > size.memory_gib:
        reader.fail(
            "service.memoryGb",
            service.memory_gb,
            f"≤ {size.memory_gib}: a {size.name} node has {size.memory_gib} GiB",
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


def _path(reader: _Reader, key: str, project_root: Path) -> Path | None:
    value = reader.string(key)
    if value is None:
        return None
    # normpath, not resolve(): a virtualenv's python is a symlink whose path is its identity.
    return Path(os.path.normpath(project_root / Path(value).expanduser()))


def _default_suffix(project: str, stack: str) -> str:
    return hashlib.sha256(f"{project}/{stack}".encode()).hexdigest()[:6]


def load_stack_config(
    source: Mapping[str, Any],
    *,
    stack: str,
    project_root: Path = PROJECT_ROOT,
    secret_keys: Iterable[str] = (),
    project: str = NAMESPACE,
) -> StackConfig:
    """Build and validate the stack config; `ConfigError` lists every problem at once.

    `source` maps config keys (with or without the `aml-gpu-inference:` namespace) to values;
    `secret_keys` names the keys that were set with `--secret` (either spelling).
    """
    problems: list[Problem] = []
    values = _nest(source, problems)
    secrets = frozenset(key.rpartition(":")[2] for key in secret_keys)
    reader = _Reader(values)
    reader.problems.extend(problems)
    _unknown_keys(values, reader)

    target = reader.choice("target", TARGETS)
    if reader.raw("location") is None and isinstance(source.get("azure-native:location"), str):
        values["location"] = source["azure-native:location"]
    location = reader.string(
        "location", pattern=re.compile(r"^[a-z0-9]+$"), rule="an Azure region name like eastus"
    )
    prefix = reader.string(
        "namePrefix", pattern=_NAME_PREFIX, rule="2–8 lowercase letters and digits, starting with a letter"
    )
    suffix = reader.string("nameSuffix", pattern=_NAME_SUFFIX, rule="4–8 lowercase letters and digits")
    tags = _tags(reader, target)
    existing = _existing_workspace(reader)
    cluster = _cluster(reader, secrets)
    service_name = reader.string(
        "service.name",
        pattern=_SERVICE_NAME,
        rule="3–32 lowercase letters, digits and dashes, starting with a letter and not ending with a dash",
    )
    service = _service(reader)
    if target == "azure" and service is not None and cluster is not None:
        _fits_cluster(reader, service, cluster)
    model_name = reader.string(
        "model.name",
        pattern=re.compile(r"^[A-Za-z0-9][\w.-]{0,254}$"),
        rule="1–255 letters, digits, - _ and ., starting with a letter or digit",
    )
    model_dir = _path(reader, "model.dir", project_root)
    local_target = _local_target(reader, project_root) if target == "local" else None

    if reader.problems:
        raise ConfigError(reader.problems)
    assert (
        target and location and prefix and cluster and service_name and service and model_name and model_dir
    )
    return StackConfig(
        stack=stack,
        project_root=project_root,
        target=target,  # type: ignore[arg-type]
        location=location,
        name_prefix=prefix,
        name_suffix=suffix or _default_suffix(project, stack),
        tags=tags,
        existing_workspace=existing,
        cluster=cluster,
        service_name=service_name,
        service=service,
        model_name=model_name,
        model_dir=model_dir,
        local_target=local_target,
        source_dir=project_root / "model_service",
    )


def _local_target(reader: _Reader, project_root: Path) -> LocalTarget:
    python = _path(reader, "local.python", project_root)
    state_dir = _path(reader, "local.stateDir", project_root)
    workers = reader.integer("local.workers", minimum=1, maximum=64)
    return LocalTarget(
        python=str(python) if python else None,
        state_dir=str(state_dir) if state_dir else None,
        workers=workers,
    )


def pulumi_config_source() -> tuple[dict[str, Any], frozenset[str]]:
    """This program's config as the engine passed it in: (values by key, the secret keys)."""
    from pulumi.runtime import config as runtime_config

    prefix = f"{NAMESPACE}:"
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values = {key: value for key, value in merged.items() if key.startswith(prefix)}
    secret = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    return values, frozenset(key for key in secret if key.startswith(prefix))
