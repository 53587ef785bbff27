"""Is there an NVIDIA GPU? Found out cheaply and first, before any environment is built.

Two signs, read without TensorFlow: `nvidia-smi -L` listing a GPU (the driver answers), and the
device node /dev/nvidia0 (what the NVIDIA container runtime mounts). A GPU is found when
nvidia-smi lists one, or when there is no nvidia-smi but the device node exists (TensorFlow then
says whether it can use it). nvidia-smi present but listing none means the driver cannot reach a
GPU, and TensorFlow could not either: not found, with what nvidia-smi said.

The outside world (PATH, the file system, running a command) is passed in, so tests can show
any machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

DEVICE_NODE = "/dev/nvidia0"
NVIDIA_SMI_TIMEOUT_S = 15.0
_GPU_LINE = re.compile(r"^GPU \d+: ")
_CUDA_VERSION = re.compile(r"CUDA Version:\s*([0-9.]+)")

# (argv) -> (exit status, stdout + stderr); raises OSError when it cannot be run at all.
Runner = Callable[[Sequence[str]], tuple[int, str]]


@dataclass(frozen=True)
class GpuProbe:
    """What the cheap checks found; `reason` says why not when `found` is false."""

    found: bool
    reason: str
    nvidia_smi: str | None
    device_node: str
    device_node_exists: bool
    gpus: list[str] = field(default_factory=list)  # nvidia-smi -L lines
    name: str | None = None
    driver_version: str | None = None
    cuda_driver_version: str | None = None  # the newest CUDA the driver supports (nvidia-smi's header)
    memory_total_mib: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_command(argv: Sequence[str]) -> tuple[int, str]:
    done = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S, check=False
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def find_gpu(
    *,
    which: Callable[[str], str | None] = shutil.which,
    exists: Callable[[str], bool] = os.path.exists,
    run: Runner = run_command,
    device_node: str = DEVICE_NODE,
) -> GpuProbe:
    """Look for an NVIDIA GPU (see the module docstring); never raises."""
    smi = which("nvidia-smi")
    node = exists(device_node)
    if smi is None:
        if node:
            return GpuProbe(
                True,
                f"{device_node} exists; nvidia-smi not on PATH (driver version unknown)",
                None,
                device_node,
                True,
            )
        return GpuProbe(
            False,
            f"no NVIDIA GPU found: nvidia-smi not on PATH, {device_node} absent",
            None,
            device_node,
            False,
        )
    status, listing = _run(run, [smi, "-L"])
    gpus = [line.strip() for line in listing.splitlines() if _GPU_LINE.match(line.strip())]
    if status != 0 or not gpus:
        said = " ".join(listing.split())[:300] or f"exit status {status}, no output"
        where = f"{device_node} exists" if node else f"{device_node} absent"
        return GpuProbe(
            False,
            f"no NVIDIA GPU found: `nvidia-smi -L` listed none ({said}); {where}",
            smi,
            device_node,
            node,
        )
    name, driver, memory = _details(run, smi)
    return GpuProbe(
        True,
        f"nvidia-smi lists {len(gpus)} GPU(s)",
        smi,
        device_node,
        node,
        gpus=gpus,
        name=name,
        driver_version=driver,
        cuda_driver_version=_cuda_driver_version(run, smi),
        memory_total_mib=memory,
    )


def _run(run: Runner, argv: Sequence[str]) -> tuple[int, str]:
    try:
        return run(argv)
    except (OSError, subprocess.SubprocessError) as error:
        return -1, f"{argv[0]} could not be run: {error}"


def _details(run: Runner, smi: str) -> tuple[str | None, str | None, int | None]:
    """The first GPU's name, driver version and memory (MiB), or None for what nvidia-smi won't say."""
    status, out = _run(
        run, [smi, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits"]
    )
    lines = [line for line in out.splitlines() if line.strip()]
    if status != 0 or not lines:
        return None, None, None
    parts = [part.strip() for part in lines[0].split(",")]
    if len(parts) != 3:
        return None, None, None
    memory = int(parts[2]) if parts[2].isdigit() else None
    return parts[0] or None, parts[1] or None, memory


def _cuda_driver_version(run: Runner, smi: str) -> str | None:
    """The "CUDA Version" of nvidia-smi's banner: the newest CUDA runtime the driver supports."""
    status, out = _run(run, [smi])
    match = _CUDA_VERSION.search(out) if status == 0 else None
    return match.group(1) if match else None
