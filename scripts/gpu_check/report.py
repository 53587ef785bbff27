"""The check's JSON document, its keys and its exit codes.

Exit codes (the script's; `make gpu-check` then fails with make's own status 2 and prints
"Error N" with the script's code):

    0  measured (the document holds every section)
    2  bad arguments
    3  no NVIDIA GPU found: nothing was built, the document is {"gpu_found": false, "reason": ...}
    4  a step failed (environment, training, a measurement): "error" names the step and why
    5  a GPU is there but TensorFlow cannot use it: "error" says what is missing (device report)
"""

from __future__ import annotations

from typing import Any

from scripts.gpu_check.detect import GpuProbe

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_NO_GPU = 3
EXIT_STEP_FAILED = 4
EXIT_GPU_UNUSABLE = 5
BUDGET_S = 480.0  # the "under 8 minutes" on one GPU, environment build included

# What the issue asks the check to print, one key each (tests assert every one is there).
MEASUREMENT_KEYS = (
    "versions",  # driver, CUDA/cuDNN: TensorFlow's build, the installed wheels, the driver's
    "routes",  # the forward and device each batch size is routed to
    "equality",  # TensorFlow's predictions against numpy's on 10,000 images
    "throughput",  # images/s, p50, p99 per mode × workers × batch, through azmlinfsrv
    "cold_start",  # per mode: TensorFlow import, device listing, model load, warm-up
    "worker_memory",  # per server: each worker's RSS and GPU memory
    "threshold",  # the measured batch threshold (or null with the reason)
)
DOCUMENT_KEYS = (
    "gpu_found",
    "reason",  # why no GPU was found (--allow-cpu); None when one was
    "mode",
    "exit_code",
    "error",
    *MEASUREMENT_KEYS,
    "device_report",
    "gpu",
    "environment",
    "model",
    "check",
)


def no_gpu_document(probe: GpuProbe) -> dict[str, Any]:
    """What the check prints when it stops for want of a GPU."""
    return {
        "gpu_found": False,
        "reason": probe.reason,
        "exit_code": EXIT_NO_GPU,
        "detection": probe.to_dict(),
        "built": "nothing: the check stops before building the GPU environment",
    }


def new_document(probe: GpuProbe, modes: tuple[str, ...], check: dict[str, Any]) -> dict[str, Any]:
    """The document before any measurement: every key present, each section None until measured."""
    document: dict[str, Any] = dict.fromkeys(DOCUMENT_KEYS)
    document.update(
        {
            "gpu_found": probe.found,
            "mode": "gpu" if "gpu" in modes else "cpu-only",
            "exit_code": EXIT_OK,
            "gpu": probe.to_dict(),
            "check": check,
        }
    )
    document["reason"] = None if probe.found else probe.reason
    return document


def versions(
    probe: GpuProbe, device_report: dict[str, Any] | None, packages: dict[str, Any]
) -> dict[str, Any]:
    """The versions that must fit together for TensorFlow to use the GPU, in one place."""
    report = device_report or {}
    return {
        "driver": report.get("driver_version") or probe.driver_version,
        "driver_supports_cuda": probe.cuda_driver_version,
        "tensorflow": report.get("tensorflow_version") or packages.get("tensorflow"),
        "tensorflow_built_with_cuda": report.get("cuda_build_version"),
        "tensorflow_built_with_cudnn": report.get("cudnn_build_version"),
        "cuda_runtime_wheel": packages.get("nvidia-cuda-runtime-cu12"),
        "cudnn_wheel": packages.get("nvidia-cudnn-cu12"),
        "cublas_wheel": packages.get("nvidia-cublas-cu12"),
    }


def fail(document: dict[str, Any], stage: str, message: str, code: int = EXIT_STEP_FAILED) -> None:
    document["error"] = {"stage": stage, "message": message}
    document["exit_code"] = code


def missing_keys(document: dict[str, Any]) -> list[str]:
    """The issue's measurements the document lacks (None or absent)."""
    return [key for key in MEASUREMENT_KEYS if document.get(key) is None]
