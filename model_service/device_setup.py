"""Where and how wide the forward runs: thread pools sized per worker, GPU memory growth, and
what the machine offers a GPU forward (`DeviceReport`).

`tf_config` is `tf.config` (and `tf` TensorFlow), passed in so tests can show a machine with GPUs.
"""

from __future__ import annotations

import ctypes.util
import logging
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

import threadpoolctl

# Routed through the inference server's own log handlers (its logger is "azmlinfsrv").
logger = logging.getLogger("azmlinfsrv.scorer")


def configure_threads(tf_config: Any, threads: int) -> None:
    """Size TensorFlow's thread pools and numpy's BLAS pool (0: their defaults, as wide as the
    machine). TensorFlow's must be sized before it starts them."""
    if threads == 0:
        return
    threadpoolctl.threadpool_limits(threads, user_api="blas")  # stays in force for the process
    try:
        tf_config.threading.set_intra_op_parallelism_threads(threads)
        tf_config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as error:  # the pools already exist (TensorFlow was used before load())
        logger.warning("could not size TensorFlow's thread pools to %d: %s", threads, error)


def configure_devices(tf_config: Any) -> str:
    """Turn on memory growth for every visible GPU; return the device to run on ("/GPU:0" or "/CPU:0").

    Memory growth keeps TensorFlow from reserving all GPU memory up front in each worker process.
    """
    gpus = tf_config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf_config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:  # the GPU was initialised before this call
            logger.warning("could not turn on memory growth for %s: %s", gpu, error)
    return GPU_DEVICE if gpus else "/CPU:0"


GPU_DEVICE = "/GPU:0"
_NVIDIA_SMI_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class DeviceReport:
    """What TensorFlow runs on and what the machine offers a GPU forward, found out cheaply.

    `to_dict()` is what a GPU check prints as JSON; `describe()` the scorer's log line; and
    `missing_gpu()` the reason a required GPU is not there.
    """

    device: str  # "/GPU:0" or "/CPU:0"
    gpu_count: int
    gpu_name: str | None  # the first GPU's, from tf.config.experimental.get_device_details
    compute_capability: str | None  # e.g. "9.0"
    driver_version: str | None  # nvidia-smi's, when it is there and answers
    tensorflow_version: str
    built_with_cuda: bool
    cuda_build_version: str | None  # the CUDA / cuDNN TensorFlow was built against
    cudnn_build_version: str | None
    cuda_visible_devices: str | None  # None: unset
    libcuda: str | None  # the driver library as ctypes finds it ("libcuda.so.1"), None: not found
    nvidia_smi: str | None  # its path, None: not on PATH

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line for the log: the GPU and the versions that must fit together."""
        gpu = f"{self.gpu_name or 'unnamed GPU'}"
        if self.compute_capability:
            gpu += f" (compute capability {self.compute_capability})"
        if self.gpu_count > 1:
            gpu += f", 1 of {self.gpu_count} GPUs"
        return (
            f"GPU {gpu}; driver {self.driver_version or 'unknown'}; "
            f"TensorFlow {self.tensorflow_version} built with CUDA {self.cuda_build_version or 'unknown'}, "
            f"cuDNN {self.cudnn_build_version or 'unknown'}"
        )

    def missing_gpu(self) -> str:
        """Why there is no GPU to run on, as far as the cheap checks tell."""
        visible = "unset" if self.cuda_visible_devices is None else repr(self.cuda_visible_devices)
        if self.built_with_cuda:
            build = (
                f"TensorFlow {self.tensorflow_version} is built with CUDA "
                f"{self.cuda_build_version or 'unknown'}, cuDNN {self.cudnn_build_version or 'unknown'}"
            )
        else:
            build = (
                f"TensorFlow {self.tensorflow_version} is built without CUDA "
                "(install tensorflow[and-cuda], not a CPU-only build)"
            )
        smi = "not found" if self.nvidia_smi is None else self.nvidia_smi
        if self.nvidia_smi is not None:
            answered = f"driver {self.driver_version}" if self.driver_version else "no GPU answered"
            smi += f" ({answered})"
        return (
            "SCORE_REQUIRE_GPU=true but no GPU is visible to TensorFlow: "
            f"CUDA_VISIBLE_DEVICES {visible}; "
            f"libcuda (the NVIDIA driver library): {self.libcuda or 'not found'}; "
            f"nvidia-smi: {smi}; {build}. "
            "Run on a GPU node with the NVIDIA driver, or set SCORE_REQUIRE_GPU=false to serve on the CPU"
        )


def device_report(tf: Any, device: str) -> DeviceReport:
    """What TensorFlow runs on (`device`, from configure_devices) and what the machine offers a GPU:
    each probe is cheap and none of them raises (a missing tool or library is reported as None)."""
    gpus = _quietly(lambda: tf.config.list_physical_devices("GPU"), [])
    details: dict[str, Any] = {}
    if gpus:
        details = _quietly(lambda: dict(tf.config.experimental.get_device_details(gpus[0])), {})
    build = _quietly(lambda: dict(tf.sysconfig.get_build_info()), {})
    capability = details.get("compute_capability")
    if isinstance(capability, (tuple, list)):
        capability = ".".join(str(part) for part in capability)
    nvidia_smi = shutil.which("nvidia-smi")
    return DeviceReport(
        device=device,
        gpu_count=len(gpus),
        gpu_name=details.get("device_name"),
        compute_capability=None if capability is None else str(capability),
        driver_version=_driver_version(nvidia_smi) if nvidia_smi else None,
        tensorflow_version=str(getattr(tf, "__version__", "unknown")),
        built_with_cuda=bool(_quietly(tf.test.is_built_with_cuda, build.get("is_cuda_build", False))),
        cuda_build_version=_text(build.get("cuda_version")),
        cudnn_build_version=_text(build.get("cudnn_version")),
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
        libcuda=_quietly(lambda: ctypes.util.find_library("cuda"), None),
        nvidia_smi=nvidia_smi,
    )


def _driver_version(nvidia_smi: str) -> str | None:
    """The first GPU's driver version from nvidia-smi, or None when it fails or takes too long."""
    try:
        done = subprocess.run(
            [nvidia_smi, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=_NVIDIA_SMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return lines[0] if done.returncode == 0 and lines else None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _quietly(probe: Any, default: Any) -> Any:
    try:
        return probe()
    except Exception:  # a probe only informs: whatever it raises, the report says "unknown"
        return default
