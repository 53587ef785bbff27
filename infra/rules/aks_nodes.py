"""What AKS leaves allocatable to pods on a node of a given size.

The kubelet reserves CPU and memory for the system (kube-reserved) and evicts pods below a
memory threshold, so a pod can request less than the VM has: a 4-vCPU node offers 3.86 cores.
AKS's published reservations (docs "Resource reservations" in the AKS core concepts):

    CPU      60m for the 1st core, 40m for the 2nd, 20m each for cores 3-4, 10m each above 4
    memory   25% of the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% up to 128 GiB,
             2% above, plus the eviction threshold (memory.available < 750Mi)

On our pool (the first pool is also the system pool) the system pods take some more: these
figures are the most a single pod can request, not a promise that it schedules.
"""

from __future__ import annotations

import math

EVICTION_THRESHOLD_GIB = 750 / 1024
_MEMORY_TIERS = ((4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (math.inf, 0.02))  # (GiB, share)


def allocatable_cpu_cores(vcpus: int) -> float:
    reserved_m = 60 + (40 if vcpus >= 2 else 0) + 20 * max(0, min(vcpus, 4) - 2) + 10 * max(0, vcpus - 4)
    return round(vcpus - reserved_m / 1000, 3)


def allocatable_memory_gib(memory_gib: float) -> float:
    reserved, left = 0.0, float(memory_gib)
    for size, share in _MEMORY_TIERS:
        part = min(left, size)
        reserved += part * share
        left -= part
        if left <= 0:
            break
    return memory_gib - reserved - EVICTION_THRESHOLD_GIB


def floor2(value: float) -> float:
    """`value` rounded down to two decimals: the most that fits, as a message shows it."""
    return math.floor(value * 100 + 1e-9) / 100
