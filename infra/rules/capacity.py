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
- azure-v2 also checks CPU and memory node by node (rules/node_room.py): the AzureML extension's
  pods (rules/extension_pods.py) share the pool with the replicas wherever the pool is the whole
  cluster. v1's own router (azureml-fe) has no published figures, so v1 checks GPUs only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .aks_nodes import allocatable_cpu_cores, allocatable_memory_gib
from .extension_pods import PER_NODE_POD, REPLICA_SIDECAR, PodRequest, extension_pods, replica_pod
from .gpu_sizes import GPU_SIZES
from .node_room import NodeShape, Placement, place

BLUE_GREEN = "blueGreen"
IN_PLACE = "inPlace"
STRATEGIES = (BLUE_GREEN, IN_PLACE)  # azure-v2's rollout.strategy
ROLLING_MAX_SURGE_PODS = 1  # Azure ML's rolling update (module docstring)
ROLLING_UPDATE = "rolling update"


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
    def node_shape(self) -> NodeShape:
        """What one node offers pods: AKS's allocatable CPU and memory, and its GPUs."""
        memory_gib = GPU_SIZES[self.vm_size].memory_gib
        return NodeShape(
            round(allocatable_cpu_cores(self.vcpus_per_node) * 1000),
            int(allocatable_memory_gib(memory_gib) * 1024),
            self.gpus_per_node,
        )

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
class Room:
    """One phase's pods placed on the pool's nodes by CPU and memory (azure-v2)."""

    phase: Phase
    replica_pods: int
    replica: PodRequest
    system: tuple[PodRequest, ...]  # the extension's cluster-wide pods counted on the pool
    placement: Placement


@dataclass(frozen=True)
class CapacityPlan:
    pool: Pool
    replicas: int  # the most replicas that exist at once outside a transition (autoscale: max)
    gpu_cores: int
    phases: tuple[Phase, ...]
    rooms: tuple[Room, ...] = field(default=())  # azure-v2's CPU and memory check, per phase

    @property
    def shortfalls(self) -> tuple[Phase, ...]:
        """The phases the pool can't schedule."""
        return tuple(phase for phase in self.phases if phase.gpus > self.pool.gpus)

    @property
    def room_shortfalls(self) -> tuple[Room, ...]:
        """The phases whose pods some node can't hold by CPU or memory (GPUs aside)."""
        return tuple(room for room in self.rooms if not room.placement.fits)

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
        lines.extend(_describe_room(room, pool) for room in self.rooms)
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
    cpu_cores: float | None = None,
    memory_gb: float | None = None,
    other_pool_nodes: int | None = 0,
) -> CapacityPlan:
    """The plan for `target` ("azure" or "azure-v2"; `strategy` one of STRATEGIES on azure-v2).
    With a replica's `cpu_cores` and `memory_gb`, azure-v2 also places every phase's pods by CPU
    and memory. `other_pool_nodes`: the cluster's nodes outside the pool (0 for the stack's own
    cluster, None where unknown); the extension's pods are counted on the pool only when there
    are none, since elsewhere they may run on the other pools."""
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
        phases.append(Phase(ROLLING_UPDATE, steady, replicas_key, note))
    plan = CapacityPlan(pool, most, gpu_cores, tuple(phases))
    if target != "azure-v2" or cpu_cores is None or memory_gb is None:
        return plan
    replica = replica_pod(cpu_cores, memory_gb, gpu_cores)
    return replace(plan, rooms=_rooms(plan, replica, other_pool_nodes))


def _rooms(plan: CapacityPlan, replica: PodRequest, other_pool_nodes: int | None) -> tuple[Room, ...]:
    pool = plan.pool
    system: tuple[PodRequest, ...] = ()
    if other_pool_nodes == 0:
        system = extension_pods(pool.node_count)
    rooms = []
    for phase in plan.phases:
        if phase.name == ROLLING_UPDATE:
            continue  # it surges only onto a free GPU and room, else waits: the steady state's pods
        count = 2 * plan.replicas if phase.key == "rollout.strategy" else plan.replicas
        rooms.append(
            Room(phase, count, replica, system, _place(pool, pool.node_count, system, replica, count))
        )
    return tuple(rooms)


def _place(
    pool: Pool, nodes: int, system: tuple[PodRequest, ...], replica: PodRequest, count: int
) -> Placement:
    return place(pool.node_shape, nodes, per_node=[PER_NODE_POD], system=system, replicas=[replica] * count)


def room_message(plan: CapacityPlan) -> tuple[str, str]:
    """(config key, why) for the first phase whose pods don't fit by CPU or memory, with the ways
    out the same placement finds: the largest replica that fits, the nodes that would hold it."""
    room = plan.room_shortfalls[0]
    pool, replica, sidecar = plan.pool, room.replica, REPLICA_SIDECAR
    free = ", ".join(f"{_cores(cpu)} CPU/{_gib(mem)} GiB" for cpu, mem in room.placement.free_after_system)
    after = "after the AzureML extension's pods" if room.system else "after the per-node pods"
    cpu_fits = _largest(
        lambda cpu_m: (
            _place(pool, pool.node_count, room.system, replace(replica, cpu_m=cpu_m), room.replica_pods).fits
        ),
        replica.cpu_m,
    )
    memory_fits = _largest(
        lambda mem: (
            _place(
                pool, pool.node_count, room.system, replace(replica, memory_mi=mem), room.replica_pods
            ).fits
        ),
        replica.memory_mi,
    )
    ways = []
    if cpu_fits is not None and cpu_fits > sidecar.cpu_m:
        ways.append(f"service.cpuCores ≤ {_cores(cpu_fits - sidecar.cpu_m)}")
    if memory_fits is not None and memory_fits > sidecar.memory_mi:
        ways.append(f"service.memoryGb ≤ {_gib(memory_fits - sidecar.memory_mi)}")
    nodes = next(
        (
            n
            for n in range(pool.node_count + 1, pool.node_count + 33)
            if _place(pool, n, room.system, replica, room.replica_pods).fits
        ),
        None,
    )
    if nodes is not None:
        ways.append(f"cluster.nodeCount ≥ {nodes}")
    ways.append("a cluster.vmSize with more vCPUs and memory per GPU")
    if cpu_fits is not None:
        key = "service.cpuCores"
    elif memory_fits is not None:
        key = "service.memoryGb"
    else:
        key = room.phase.key
    message = (
        f"the {room.phase.name}'s {room.replica_pods} replicas need {_cores(replica.cpu_m)} CPU and "
        f"{_gib(replica.memory_mi)} GiB each on one node (the instance type + the identity sidecar's "
        f"{_cores(sidecar.cpu_m)} CPU/{_gib(sidecar.memory_mi)} GiB), but {after} the "
        f"{pool.node_count} × {pool.vm_size} nodes have {free} free: {len(room.placement.pending)} "
        f"pod(s) would stay Pending (Insufficient cpu or memory; AKS's own kube-system pods are not "
        f"even counted). Ways out: {'; or '.join(ways)}"
    )
    return key, message


def _largest(fits: Callable[[int], bool], below: int) -> int | None:
    """The largest amount under `below` that fits (bisection; fitting is monotonic in the amount)."""
    low, high = 0, below
    if not fits(low):
        return None
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def _describe_room(room: Room, pool: Pool) -> str:
    shape = pool.node_shape
    replica = room.replica
    extension = (
        f" + the AzureML extension's {_cores(sum(p.cpu_m for p in room.system))} CPU, "
        f"{_gib(sum(p.memory_mi for p in room.system))} GiB"
        if room.system
        else " (the AzureML extension's pods not counted: the cluster has other pools)"
    )
    verdict = (
        "fits" if room.placement.fits else f"DOES NOT FIT ({len(room.placement.pending)} pod(s) Pending)"
    )
    return (
        f"  {room.phase.name}, CPU and memory: {room.replica_pods} × ({_cores(replica.cpu_m)} CPU, "
        f"{_gib(replica.memory_mi)} GiB){extension} on {pool.node_count} × ({_cores(shape.cpu_m)} CPU, "
        f"{_gib(shape.memory_mi)} GiB allocatable): {verdict}"
    )


def _cores(millicores: int) -> str:
    return f"{millicores / 1000:g}"


def _gib(mebibytes: int) -> str:
    return f"{mebibytes / 1024:.2f}".rstrip("0").rstrip(".")


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
