"""The scoring image Azure ML builds: model_service/environment.yml on a pinned GPU base image,
and the environment variables the server runs with (the entry script's settings, its workers).

Not `azureml.core.environment.DEFAULT_GPU_IMAGE`: in azureml-core 1.61 that is the untagged
CUDA 11.8 image (`openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04`), deprecated, and TensorFlow 2.21
needs CUDA 12.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deployment.settings import ScoringSettings, ServiceSettings
from rules.scoring import VARIABLES, WORKER_COUNT_VARIABLE, boolean_variable

# TensorFlow 2.21 is built against CUDA 12.5.1 and cuDNN 9 (`tf.sysconfig.get_build_info()`);
# `tensorflow[and-cuda]` in environment.yml installs the matching CUDA 12 user-space libraries as
# wheels, so the base image must be CUDA 12.x on a glibc they support: Ubuntu 22.04, CUDA 12.5.
# The tag is a dated, immutable one (never `latest`), taken from the list of current base-image
# tags that azureml-core 1.61.0.post4 itself ships (azureml/_project/azureml_base_images.json).
# To move it: pick a newer dated tag of the same repository from
# https://mcr.microsoft.com/v2/azureml/openmpi5.0-cuda12.5-ubuntu22.04/tags/list and redeploy.
GPU_BASE_IMAGE = "mcr.microsoft.com/azureml/openmpi5.0-cuda12.5-ubuntu22.04:20251130.v1"


def environment_name(service_name: str) -> str:
    return f"{service_name}-env"


def server_variables(settings: ServiceSettings, scoring: ScoringSettings | None) -> dict[str, str]:
    """What the inference server runs with on AKS (v1 and v2): the entry script's SCORE_*
    settings and WORKER_COUNT, azmlinfsrv's workers for the replica's cores and memory.

    A replica given a GPU (service.gpuCores >= 1) requires it: SCORE_REQUIRE_GPU=true, so a
    replica whose TensorFlow sees no GPU fails its start instead of serving on the CPU, unless
    `scoring.requireGpu` says otherwise."""
    variables = scoring.environment() if scoring is not None else {}
    require_gpu = scoring.require_gpu if scoring is not None else None
    if require_gpu is None and settings.gpu_cores >= 1:
        variables[VARIABLES["require_gpu"]] = boolean_variable(True)
    return {**variables, WORKER_COUNT_VARIABLE: str(settings.inference_workers)}


def build_environment(
    sdk: Any, service_name: str, environment_file: Path, variables: Mapping[str, str]
) -> Any:
    """`Environment` from the conda file on `GPU_BASE_IMAGE` (what Azure ML builds the image from),
    with `variables` as the container's environment variables."""
    if not Path(environment_file).is_file():
        raise FileNotFoundError(
            f"environment_file: {environment_file} does not exist; "
            "expected the scoring image's conda file, model_service/environment.yml"
        )
    environment = sdk.Environment.from_docker_image(
        name=environment_name(service_name),
        image=GPU_BASE_IMAGE,
        conda_specification=str(environment_file),
    )
    # azureml-core 1.61 serializes `environment_variables` into the deployment's environment
    # (`environmentImageRequest.environment.environmentVariables`): the container's variables, set
    # at run time, as the SDK itself adds AZUREML_ENTRY_SCRIPT there. The setter warns that the
    # property is deprecated for *training* runs (use RunConfiguration); a deployment has no
    # RunConfiguration. Replacing the dict also drops the placeholder EXAMPLE_ENV_VAR it starts with.
    sdk_logger = logging.getLogger("azureml.core.environment")
    sdk_logger.addFilter(_without_run_configuration_warning)
    try:
        environment.environment_variables = dict(variables)
    finally:
        sdk_logger.removeFilter(_without_run_configuration_warning)
    return environment


def build_inference_config(sdk: Any, source_dir: Path, entry_script: Path | str, environment: Any) -> Any:
    """`InferenceConfig(entry_script, source_directory, environment)`: the whole source directory
    is uploaded, and the entry script is named relative to it, as Azure ML requires."""
    source = Path(source_dir)
    script = Path(entry_script)
    if script.is_absolute() and not script.is_relative_to(source):
        raise FileNotFoundError(
            f"entry_script: {script} is outside source_dir {source}; Azure ML uploads only source_dir"
        )
    relative = script.relative_to(source) if script.is_absolute() else script
    if not (source / relative).is_file():
        raise FileNotFoundError(
            f"entry_script: {relative} not found in source_dir {source}; "
            "expected the scoring entry script inside the uploaded source directory (score.py)"
        )
    sdk_logger = logging.getLogger("azureml.core.model")
    sdk_logger.addFilter(_without_azureml_defaults_warning)
    try:
        return sdk.InferenceConfig(
            entry_script=relative.as_posix(),
            source_directory=str(source),
            environment=environment,
        )
    finally:
        sdk_logger.removeFilter(_without_azureml_defaults_warning)


def _without_azureml_defaults_warning(record: logging.LogRecord) -> bool:
    # InferenceConfig warns when the environment lacks azureml-defaults. In azureml-core 1.61 that
    # is a metapackage whose one inference requirement, azureml-inference-server-http, the
    # environment pins itself (model_service/environment.yml says so): the warning is noise.
    return "azureml-defaults not detected" not in record.getMessage()


def _without_run_configuration_warning(record: logging.LogRecord) -> bool:
    return "environment_variables is deprecated" not in record.getMessage()
