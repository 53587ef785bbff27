"""Azure GPU VM sizes an AKS inference pool can use, and the retired ones with their replacements.

One table, read by the stack config's validation (`config/`) and by the policy pack's
allowlist (`policy/`), so the two never disagree. Only sizes with whole GPUs are listed: an AKS
pod requests whole GPUs through the NVIDIA device plugin, so fractional-GPU sizes (NVadsA10 v5
below 36 vCPUs) cannot serve a GPU pod.

Figures are Azure's published per-VM counts (GPUs, vCPUs, memory in GiB). `quota_family` is the
family's name in the Compute usages API (`name.value`), whose regional vCPU quota the pool draws
on; the quota check compares names case-insensitively and says so when a region lists no such
family rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuSize:
    name: str
    gpus: int
    vcpus: int
    memory_gib: int
    gpu_model: str
    quota_family: str


GPU_SIZES: dict[str, GpuSize] = {
    size.name: size
    for size in (
        # NCasT4_v3: NVIDIA T4, the how-to's kind of inference GPU.
        GpuSize("Standard_NC4as_T4_v3", 1, 4, 28, "T4", "standardNCASv3_T4Family"),
        GpuSize("Standard_NC8as_T4_v3", 1, 8, 56, "T4", "standardNCASv3_T4Family"),
        GpuSize("Standard_NC16as_T4_v3", 1, 16, 110, "T4", "standardNCASv3_T4Family"),
        GpuSize("Standard_NC64as_T4_v3", 4, 64, 440, "T4", "standardNCASv3_T4Family"),
        # NC_A100_v4
        GpuSize("Standard_NC24ads_A100_v4", 1, 24, 220, "A100", "StandardNCADSA100v4Family"),
        GpuSize("Standard_NC48ads_A100_v4", 2, 48, 440, "A100", "StandardNCADSA100v4Family"),
        GpuSize("Standard_NC96ads_A100_v4", 4, 96, 880, "A100", "StandardNCADSA100v4Family"),
        # NCads_H100_v5
        GpuSize("Standard_NC40ads_H100_v5", 1, 40, 320, "H100", "standardNCadsH100v5Family"),
        GpuSize("Standard_NC80adis_H100_v5", 2, 80, 640, "H100", "standardNCadsH100v5Family"),
        # NVadsA10_v5, whole-GPU sizes only
        GpuSize("Standard_NV36ads_A10_v5", 1, 36, 440, "A10", "standardNVADSA10v5Family"),
        GpuSize("Standard_NV72ads_A10_v5", 2, 72, 880, "A10", "standardNVADSA10v5Family"),
        # ND: training-class, allowed but rarely worth it for inference
        GpuSize("Standard_ND96asr_v4", 8, 96, 900, "A100", "standardNDASv4_A100Family"),
        GpuSize("Standard_ND96amsr_A100_v4", 8, 96, 1900, "A100", "standardNDAMSv4_A100Family"),
        GpuSize("Standard_ND96isr_H100_v5", 8, 96, 1900, "H100", "standardNDSH100v5Family"),
    )
}

# Retired sizes → the current size with the same number of GPUs per VM.
RETIRED_GPU_SIZES: dict[str, str] = {
    # NC (K80), retired 2023-09
    "Standard_NC6": "Standard_NC4as_T4_v3",
    "Standard_NC12": "Standard_NC48ads_A100_v4",
    "Standard_NC24": "Standard_NC64as_T4_v3",
    "Standard_NC24r": "Standard_NC64as_T4_v3",
    # NCv2 (P100), retired 2023-09
    "Standard_NC6s_v2": "Standard_NC24ads_A100_v4",
    "Standard_NC12s_v2": "Standard_NC48ads_A100_v4",
    "Standard_NC24s_v2": "Standard_NC96ads_A100_v4",
    "Standard_NC24rs_v2": "Standard_NC96ads_A100_v4",
    # NCv3 (V100), retired 2025-09
    "Standard_NC6s_v3": "Standard_NC24ads_A100_v4",
    "Standard_NC12s_v3": "Standard_NC48ads_A100_v4",
    "Standard_NC24s_v3": "Standard_NC96ads_A100_v4",
    "Standard_NC24rs_v3": "Standard_NC96ads_A100_v4",
    # ND (P40), retired 2023-09
    "Standard_ND6s": "Standard_NC24ads_A100_v4",
    "Standard_ND12s": "Standard_NC48ads_A100_v4",
    "Standard_ND24s": "Standard_NC96ads_A100_v4",
    "Standard_ND24rs": "Standard_NC96ads_A100_v4",
    # NV (M60), retired 2023-09
    "Standard_NV6": "Standard_NV36ads_A10_v5",
    "Standard_NV12": "Standard_NV72ads_A10_v5",
    "Standard_NV24": "Standard_NV72ads_A10_v5",
}

_BY_LOWER = {name.lower(): name for name in GPU_SIZES}
_RETIRED_BY_LOWER = {name.lower(): name for name in RETIRED_GPU_SIZES}


def canonical_size(name: str) -> str | None:
    """The table's spelling of a current GPU size (Azure compares sizes case-insensitively)."""
    return _BY_LOWER.get(name.strip().lower())


def retired_replacement(name: str) -> str | None:
    """The suggested current size for a retired one; None if `name` is not a retired size."""
    retired = _RETIRED_BY_LOWER.get(name.strip().lower())
    return RETIRED_GPU_SIZES[retired] if retired else None
