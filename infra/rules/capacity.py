"""The GPU capacity plan: how many GPUs the service holds at once in its steady state and in every
transition the program can cause, against the pool's GPUs, and the vCPU quota the pool needs.

Stdlib only, from plain numbers, so the stack config's validation, the program's preview log and
the cost estimate all read one plan. The figures behind each transition:

- AKS pods can't share a GPU: a replica holds `gpu_cores` whole GPUs while it exists.
- azure-v2 blue/green: the new colour is created at full size while the live one still serves,
  so both exist at once (v2/rollout.py): 2 × replicas × gpu_cores.
- Rolling updates (azure's service.update, azure-v2's `inPlace`): Azure ML rolls an AKS service
  with maxSurge 1 and maxUnavailable 1 (Azure ML's answer in Azure/azure-cli#18272). With a GPU
  to spare the new pod starts beside the old ones; on a full pool it waits until one old pod is
  gone, so capacity dips by one replica at a time and the update still completes. It needs the
  steady state's GPUs; one replica alone dips to none.
- Autoscale (v1 only): the maximum replicas are counted everywhere the steady count is.
- AKS node-image and Kubernetes upgrades add `upgrade_max_surge` nodes of the pool's size while
  they drain the old ones (the pool's upgradeSettings.maxSurge, which the program sets): no GPU
  shortfall, but the subscription's regional quota for the VM family must hold them.
"""

from __future__ import annotations

from dataclasses import dataclass

BLUE_GREEN = "blueGreen"
IN_PLACE = "inPlace"
STRATEGIES = (BLUE_GREEN, IN_PLACE)  # azure-v2's rollout.strategy
ROLLING_MAX_SURGE_PODS = 1  # Azure ML's rolling update (module docstring)


@dataclass(frozen=True)
class Pool:
    """The GPU node pool the service runs on (v1: the cluster's first pool)."""

    vm_size: str
    node_count: int
    gpus_per_node: int
    vcpus_per_node: int
    quota_family: str  # the Compute usages name of the VM family's regional vCPU quota
    upgrade_max_surge: int = 1  # nodes added during an upgrade

    @property
    def gpus(self) -> int:
        return self.node_count * self.gpus_per_node

    @property
    def quota_vcpus(self) -> int:
        """The family's vCPUs the pool holds at its largest: during an upgrade, with surge nodes."""
        return (self.node_count + self.upgrade_max_surge) * self.vcpus_per_node


@dataclass(frozen=True)
class Phase:
    """One moment of the plan: the GPUs that must be free for it to be scheduled."""

    name: str
    gpus: int  # needed at once
    key: str  # the config key that sets it
    note: str = ""


@dataclass(frozen=True)
class CapacityPlan:
    pool: Pool
    replicas: int  # the most replicas that exist at once outside a transition (autoscale: max)
    gpu_cores: int
    phases: tuple[Phase, ...]

    @property
    def shortfalls(self) -> tuple[Phase, ...]:
        """The phases the pool can't schedule."""
        return tuple(phase for phase in self.phases if phase.gpus > self.pool.gpus)

    @property
    def peak_gpus(self) -> int:
        return max(phase.gpus for phase in self.phases)

    def describe(self) -> str:
        """A few lines for `pulumi preview`: GPUs per phase, surge nodes, quota."""
        pool = self.pool
        lines = [
            f"capacity plan: pool {pool.node_count} × {pool.vm_size} = {pool.gpus} GPUs; "
            f"{self.replicas} replicas × {self.gpu_cores} GPU"
        ]
        for phase in self.phases:
            verdict = "fits" if phase.gpus <= pool.gpus else f"DOES NOT FIT ({pool.gpus} there)"
            line = f"  {phase.name}: {phase.gpus} GPUs, {verdict}"
            lines.append(line + (f"; {phase.note}" if phase.note else ""))
        lines.append(
            f"  node upgrades: +{pool.upgrade_max_surge} surge node(s); vCPU quota needed for "
            f"{pool.quota_family}: {pool.quota_vcpus} (({pool.node_count} + {pool.upgrade_max_surge}) "
            f"× {pool.vcpus_per_node})"
        )
        return "\n".join(lines)


def plan_capacity(
    pool: Pool,
    *,
    replicas: int,
    gpu_cores: int,
    target: str,
    strategy: str | None = None,
    autoscale_max_replicas: int | None = None,
) -> CapacityPlan:
    """The plan for `target` ("azure" or "azure-v2"; `strategy` one of STRATEGIES on azure-v2)."""
    autoscaled = autoscale_max_replicas is not None
    most = autoscale_max_replicas if autoscaled else replicas
    assert most is not None
    replicas_key = "service.autoscale.maxReplicas" if autoscaled else "service.replicas"
    steady = most * gpu_cores
    phases = [
        Phase("steady state" + (" at the autoscale maximum" if autoscaled else ""), steady, replicas_key)
    ]
    if target == "azure-v2" and strategy == BLUE_GREEN:
        phases.append(
            Phase(
                "blue/green update (both colours at once)",
                2 * steady,
                "rollout.strategy",
                "rollout.strategy inPlace needs only the steady state's GPUs",
            )
        )
    else:
        surge = (most + ROLLING_MAX_SURGE_PODS) * gpu_cores
        if surge <= pool.gpus:
            note = f"a surge pod beside the {most} (maxSurge {ROLLING_MAX_SURGE_PODS})"
        elif most > 1:
            note = f"no GPU for a surge pod: serves {most - 1} of {most} replicas while each rolls"
        else:
            note = "one replica and no GPU for a surge pod: no replica serves while it rolls"
        phases.append(Phase("rolling update", steady, replicas_key, note))
    return CapacityPlan(pool, most, gpu_cores, tuple(phases))


def shortfall_message(plan: CapacityPlan, target: str) -> str:
    """Why the pool can't hold the plan, with the ways out (for the config problem's reason)."""
    pool = plan.pool
    worst = max(plan.shortfalls, key=lambda phase: phase.gpus)
    nodes_needed = -(-worst.gpus // pool.gpus_per_node)
    ways = [f"cluster.nodeCount ≥ {nodes_needed} (the {worst.gpus} GPUs on {pool.vm_size})"]
    if worst.key == "rollout.strategy":
        ways.insert(0, f"rollout.strategy {IN_PLACE} (updates in place: {plan.phases[0].gpus} GPUs)")
        fewer = pool.gpus // (2 * plan.gpu_cores)
    else:
        fewer = pool.gpus // plan.gpu_cores
    if fewer >= 1:
        ways.append(f"service.replicas ≤ {fewer}")
    return (
        f"the {worst.name} needs {worst.gpus} GPUs ({_arithmetic(plan, worst)}), but the pool has "
        f"{pool.node_count} × {pool.vm_size} = {pool.gpus} GPUs: the new pods would stay Pending "
        f"(Insufficient nvidia.com/gpu). Ways out: {'; or '.join(ways)}"
    )


def _arithmetic(plan: CapacityPlan, phase: Phase) -> str:
    per_colour = f"{plan.replicas} replicas × {plan.gpu_cores} GPU"
    return f"2 × {per_colour}" if phase.key == "rollout.strategy" else per_colour
