"""The typed stack config: frozen dataclasses whose field defaults ARE the config's defaults.

`config/stack.py` builds a `StackConfig` from the stack's `Pulumi.<stack>.yaml`; a key that is not set
leaves its field's default in place, so a default is written here and nowhere else. The choices of
a `Literal` field are its allowed values (`config.reader.choices`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from deployment.settings import ScoringSettings, ServiceSettings
from deployment.targets import LocalTarget
from rules.gpu_sizes import GPU_SIZES, GpuSize

PROJECT_ROOT = Path(__file__).resolve().parents[2]

Target = Literal["azure", "azure-v2", "local"]
ClusterPurpose = Literal["DevTest", "FastProd"]
LoadBalancerType = Literal["PublicIp", "InternalLoadBalancer"]


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
class ExistingCluster:
    """A cluster this stack deploys onto but does not own (docs/configuration.md, `cluster.existing`).

    Exactly one of the two: `compute_name`, a compute the workspace has already (v1: an attached
    AKS compute; v2: a Kubernetes compute), used as it is; or `cluster_id`, an AKS cluster the
    stack attaches (v1) or extends with the AzureML extension and a Kubernetes compute (v2).
    Its pool is read from Azure at preview (adopted_pool.py), never configured here."""

    compute_name: str | None = None
    cluster_id: str | None = None
    node_pool: str | None = None  # azure-v2: the pool the instance type selects; default the first


@dataclass(frozen=True)
class ClusterConfig:
    vm_size: str = "Standard_NC4as_T4_v3"
    node_count: int = 3
    kubernetes_version: str | None = None
    purpose: ClusterPurpose = "DevTest"
    load_balancer_type: LoadBalancerType = "PublicIp"
    ssl: SslConfig | None = None
    # Nodes of this size AKS adds while it upgrades the pool (node image, Kubernetes version): the
    # pool's upgradeSettings.maxSurge, set so the capacity plan and the quota it needs are exact.
    upgrade_max_surge: int = 1
    # Set when the stack adopts a cluster; vm_size, node_count and upgrade_max_surge are then the
    # adopted pool's, filled in from Azure (adopted_pool.with_adopted_pool), not the defaults above.
    existing: ExistingCluster | None = None

    @property
    def gpu_size(self) -> GpuSize:
        return GPU_SIZES[self.vm_size]

    @property
    def total_gpus(self) -> int:
        return self.node_count * self.gpu_size.gpus


@dataclass(frozen=True)
class OnlineConfig:
    """The azure-v2 target's own settings (docs/azure-v2.md)."""

    traffic_steps: tuple[int, ...] = (100,)  # percent on the new colour after each step
    # blueGreen: a changed spec goes to the other colour, both at full size while traffic moves;
    # inPlace: the live colour is updated in place, rolling (rules/capacity.py says what each needs).
    strategy: str = "blueGreen"


@dataclass(frozen=True)
class StackConfig:
    """Everything the program needs to know about one stack, validated."""

    stack: str
    # `nameSuffix` as set, or None: the program then uses naming.default_name_suffix, which mixes
    # in the deployer's subscription (global names must differ between teams' same-named stacks).
    name_suffix: str | None = None
    project_root: Path = PROJECT_ROOT
    target: Target = "local"
    location: str = "eastus"
    name_prefix: str = "amlgpu"
    tags: dict[str, str] = field(default_factory=dict)
    existing_workspace: ExistingWorkspace | None = None
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    service_name: str = "aks-dnn-mnist"
    service: ServiceSettings = field(default_factory=ServiceSettings)
    scoring: ScoringSettings = field(default_factory=ScoringSettings)  # the entry script's, every target
    model_name: str = "mnist-dnn"
    model_dir: Path = Path("artifacts/model")  # relative to project_root; the loader makes it absolute
    local_target: LocalTarget | None = None  # set when target == "local"
    online: OnlineConfig | None = None  # set when target == "azure-v2"

    @property
    def source_dir(self) -> Path:
        return self.project_root / "model_service"

    @property
    def environment_file(self) -> Path:
        """The scoring environment: the image's conda file on Azure, the virtualenv's pins locally."""
        name = "requirements.txt" if self.target == "local" else "environment.yml"
        return self.source_dir / name
