"""The cost estimate of an Azure stack, from its validated `StackConfig` and a `PriceBook`.

What it counts, per hour:
- the GPU node pool: node count × the VM size's hourly price. Its range comes from the capacity
  plan (`config.capacity.stack_capacity_plan`): node upgrades add `upgradeMaxSurge` nodes while
  they run (the high end), and the autoscale maximum's replicas must fit the pool's nodes, so
  autoscale adds no node (the plan refused the config otherwise);
- other node pools: none, the GPU pool is the cluster's only pool (gpu_aks.py, both targets);
- the container registry's tier (a daily price), when the stack creates its workspace;
- AKS cluster management (the Free tier: the program sets no tier).
An adopted cluster (`cluster.existing`) is not the stack's: its pool and management are named as
not counted, and the lines hold what the stack itself adds.
What is billed by use is listed, not estimated. A price that neither the API nor the table has is
unknown: the line says so and the totals say they lack it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from config.capacity import stack_capacity_plan
from config.types import StackConfig
from rules.tags import EXPIRES_TAG, ExpiryError, parse_expires_on

from .prices import Price, PriceBook

HOURS_PER_30_DAYS = 24 * 30
REGISTRY_TIER = "Basic"  # workspace.py creates the registry with SkuName.BASIC (a test holds them equal)
AKS_TIER = "Free"  # gpu_aks.py sets no sku tier: Azure's default is Free (a test holds it)
BILLED_BY_USE = (
    "storage account",
    "registry storage beyond the tier's included storage",
    "Log Analytics ingestion and Application Insights",
    "egress",
    "the nodes' OS disks",
    "load balancer and public IP",
    "Key Vault operations",
)
ADOPTED_CLUSTER_NOT_OURS = (
    "the adopted cluster's nodes and management (billed to the cluster, not counted here)"
)
BILLED_BY_USE_ADOPTED = ("egress", "the nodes' OS disks", "load balancer and public IP")


@dataclass(frozen=True)
class CostLine:
    item: str  # what is billed, e.g. "GPU node pool"
    detail: str  # e.g. "3 × Standard_NC4as_T4_v3"
    quantity: int
    price: Price | None  # None: unknown
    quantity_max: int | None = None  # the high end of the range (upgrade surge nodes)
    note: str = ""

    @property
    def hourly(self) -> Decimal | None:
        return None if self.price is None else self.price.per_hour * self.quantity

    @property
    def hourly_max(self) -> Decimal | None:
        if self.price is None:
            return None
        return self.price.per_hour * (self.quantity_max if self.quantity_max is not None else self.quantity)


@dataclass(frozen=True)
class CostEstimate:
    stack: str
    target: str
    region: str
    currency: str
    lines: tuple[CostLine, ...]
    billed_by_use: tuple[str, ...]
    now: datetime
    expires_at: datetime | None = None
    api_error: str | None = None  # why the API was not used, when it was asked

    @property
    def unknown(self) -> tuple[str, ...]:
        return tuple(f"{line.item} ({line.detail})" for line in self.lines if line.price is None)

    @property
    def complete(self) -> bool:
        return not self.unknown

    @property
    def hourly(self) -> Decimal:
        """The sum of the lines with a price (check `complete`)."""
        return sum((line.hourly for line in self.lines if line.hourly is not None), Decimal(0))

    @property
    def hourly_max(self) -> Decimal:
        return sum((line.hourly_max for line in self.lines if line.hourly_max is not None), Decimal(0))

    @property
    def per_30_days(self) -> Decimal:
        return self.hourly * HOURS_PER_30_DAYS

    @property
    def hours_to_expiry(self) -> Decimal | None:
        if self.expires_at is None:
            return None
        seconds = (self.expires_at - self.now).total_seconds()
        return max(Decimal(0), Decimal(str(seconds)) / 3600)

    @property
    def until_expiry(self) -> Decimal | None:
        hours = self.hours_to_expiry
        return None if hours is None else self.hourly * hours

    @property
    def sources(self) -> tuple[str, ...]:
        """Each price source with its date, and what it priced."""
        by_label: dict[str, list[str]] = {}
        for line in self.lines:
            if line.price is not None:
                by_label.setdefault(line.price.label, []).append(line.item)
        return tuple(f"{label} ({', '.join(items)})" for label, items in by_label.items())


def estimate_stack(cfg: StackConfig, prices: PriceBook, now: datetime | None = None) -> CostEstimate | None:
    """The estimate of an Azure stack (`azure` or `azure-v2`); None on the local target."""
    plan = stack_capacity_plan(cfg)
    if plan is None:
        return None
    now = now or datetime.now(UTC)
    pool = plan.pool
    region = cfg.location
    nodes_for_peak = -(-plan.peak_gpus // pool.gpus_per_node)
    notes = [f"node upgrades add {pool.upgrade_max_surge} surge node(s) while they run"]
    if cfg.service.autoscale.enabled:
        notes.append(
            f"the autoscale maximum ({plan.replicas} replicas × {plan.gpu_cores} GPU) fits "
            f"{nodes_for_peak} of the {pool.node_count} nodes: autoscale adds no node"
        )
    lines = (
        []
        if cfg.cluster.existing is not None
        else [
            CostLine(
                "GPU node pool",
                f"{pool.node_count} × {pool.vm_size}",
                pool.node_count,
                prices.vm_hourly(pool.vm_size, region),
                quantity_max=pool.node_count + pool.upgrade_max_surge,
                note="; ".join(notes),
            ),
            CostLine("AKS cluster management", f"{AKS_TIER} tier", 1, prices.aks_management_hourly(AKS_TIER)),
        ]
    )
    billed_by_use = BILLED_BY_USE if cfg.existing_workspace is None else BILLED_BY_USE_ADOPTED
    if cfg.cluster.existing is not None:  # cluster.existing: its nodes bill its owner, whatever we deploy
        billed_by_use = (ADOPTED_CLUSTER_NOT_OURS, *billed_by_use)
    if cfg.existing_workspace is None:
        lines.append(
            CostLine("container registry", f"{REGISTRY_TIER} tier", 1, prices.registry_daily(REGISTRY_TIER))
        )
    return CostEstimate(
        stack=cfg.stack,
        target=cfg.target,
        region=region,
        currency=prices.currency,
        lines=tuple(lines),
        billed_by_use=billed_by_use,
        now=now,
        expires_at=_expiry(cfg),
        api_error=prices.api_error,
    )


def _expiry(cfg: StackConfig) -> datetime | None:
    value = cfg.tags.get(EXPIRES_TAG)
    if value is None:
        return None
    try:
        return parse_expires_on(value)
    except ExpiryError:
        return None  # the config refused it already; an estimate never fails on it
