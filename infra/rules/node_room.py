"""Whether a phase's pods fit the pool's nodes by CPU and memory, as the scheduler would place them.

A pod runs on one node, so a sum over the pool is not enough: "Insufficient cpu" is per node.
The placement follows kube-scheduler's default, spreading by the least allocated node: the
DaemonSet's pod on every node, then the AzureML extension's pods (installed before any
deployment), largest first, each on the node with the most CPU free; then the replicas, each on a
node with a free GPU and room, most CPU free first. It is a model of the scheduler, good for
refusing what can't fit; AKS's own kube-system pods are not counted (rules/extension_pods.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .extension_pods import PodRequest


@dataclass
class _Node:
    cpu_m: int
    memory_mi: int
    gpus: int

    def holds(self, pod: PodRequest) -> bool:
        return pod.cpu_m <= self.cpu_m and pod.memory_mi <= self.memory_mi and pod.gpus <= self.gpus

    def take(self, pod: PodRequest) -> None:
        self.cpu_m -= pod.cpu_m
        self.memory_mi -= pod.memory_mi
        self.gpus -= pod.gpus


@dataclass(frozen=True)
class NodeShape:
    """What one node of the pool offers pods (AKS's allocatable, rules/aks_nodes.py)."""

    cpu_m: int
    memory_mi: int
    gpus: int


@dataclass(frozen=True)
class Placement:
    pending: tuple[PodRequest, ...]  # the pods no node could take
    free_after_system: tuple[tuple[int, int], ...]  # (cpu_m, memory_mi) per node before the replicas

    @property
    def fits(self) -> bool:
        return not self.pending


def place(
    shape: NodeShape,
    node_count: int,
    *,
    per_node: Sequence[PodRequest],
    system: Sequence[PodRequest],
    replicas: Sequence[PodRequest],
) -> Placement:
    nodes = [_Node(shape.cpu_m, shape.memory_mi, shape.gpus) for _ in range(node_count)]
    pending: list[PodRequest] = []
    for pod in per_node:
        for node in nodes:
            if node.holds(pod):
                node.take(pod)
            else:
                pending.append(pod)
    for pod in sorted(system, key=lambda p: (p.cpu_m, p.memory_mi), reverse=True):
        _place_one(nodes, pod, pending)
    free = tuple((node.cpu_m, node.memory_mi) for node in nodes)
    for pod in replicas:
        _place_one(nodes, pod, pending)
    return Placement(tuple(pending), free)


def _place_one(nodes: list[_Node], pod: PodRequest, pending: list[PodRequest]) -> None:
    candidates = [node for node in nodes if node.holds(pod)]
    if not candidates:
        pending.append(pod)
        return
    max(candidates, key=lambda node: (node.cpu_m, node.memory_mi)).take(pod)
