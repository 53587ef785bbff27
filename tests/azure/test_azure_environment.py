"""The scoring image's base: pinned, tagged, CUDA 12 on Ubuntu 22.04, and fitting TensorFlow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import azureml
import pytest
from azure_cases import CONDA_FILE
from fakes.azureml_sdk import FakeAzureMl

from deployment.azure_common.environment import (
    GPU_BASE_IMAGE,
    build_environment,
    build_inference_config,
    server_variables,
)
from deployment.settings import ScoringSettings, ServiceSettings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCORING_SITE = PROJECT_ROOT / ".venv-scoring" / "lib" / "python3.11" / "site-packages"


def _repository_and_tag(image: str) -> tuple[str, str]:
    repository, _, tag = image.rpartition(":")
    return repository, tag


def test_the_base_image_is_tagged_with_an_immutable_dated_tag():
    repository, tag = _repository_and_tag(GPU_BASE_IMAGE)

    assert repository.startswith("mcr.microsoft.com/azureml/")
    assert re.fullmatch(r"\d{8}\.v\d+", tag), f"{GPU_BASE_IMAGE}: expected a dated tag like 20251130.v1"


def test_the_base_image_is_cuda_12_on_ubuntu_22_04_and_not_the_deprecated_default():
    from azureml.core.environment import DEFAULT_GPU_IMAGE

    repository, _ = _repository_and_tag(GPU_BASE_IMAGE)
    assert re.search(r"-cuda12\.\d+-", repository), repository
    assert repository.endswith("-ubuntu22.04")
    assert GPU_BASE_IMAGE != DEFAULT_GPU_IMAGE
    assert "cuda11" in DEFAULT_GPU_IMAGE  # why we pin our own


def test_the_tag_is_one_the_installed_sdk_lists_as_current():
    known = json.loads((Path(azureml.__path__[0]) / "_project" / "azureml_base_images.json").read_text())
    repository, tag = _repository_and_tag(GPU_BASE_IMAGE)

    assert known.get(repository) == tag


def test_the_base_image_cuda_major_matches_the_scoring_tensorflow_wheels():
    metadata = next(SCORING_SITE.glob("tensorflow-*.dist-info/METADATA"), None)
    if metadata is None:
        pytest.skip("the scoring environment (.venv-scoring) is not created")
    text = metadata.read_text()
    tensorflow = re.search(r"^Version: (\S+)", text, re.MULTILINE)
    cuda_runtime = re.search(r"nvidia-cuda-runtime-cu(\d+)", text)
    assert tensorflow and cuda_runtime

    image_cuda = re.search(r"-cuda(\d+)\.(\d+)-", GPU_BASE_IMAGE)
    assert image_cuda and image_cuda.group(1) == cuda_runtime.group(1), (
        f"tensorflow {tensorflow.group(1)} needs CUDA {cuda_runtime.group(1)}.x; base image {GPU_BASE_IMAGE}"
    )


def test_build_environment_uses_the_conda_file_on_the_base_image(fake: FakeAzureMl, tmp_path: Path):
    conda_file = tmp_path / "environment.yml"
    conda_file.write_text(CONDA_FILE)

    environment = build_environment(fake.sdk, "mnist-gpu", conda_file, {})

    assert environment.name == "mnist-gpu-env"
    assert environment.docker.base_image == GPU_BASE_IMAGE
    pip = list(environment.python.conda_dependencies.pip_packages)
    assert "tensorflow[and-cuda]==2.21.0" in pip
    assert "azureml-inference-server-http==1.5.1" in pip


def test_a_missing_conda_file_is_named(fake: FakeAzureMl, tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="environment_file"):
        build_environment(fake.sdk, "mnist-gpu", tmp_path / "missing.yml", {})


def test_a_missing_entry_script_is_named(fake: FakeAzureMl, tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"entry_script: score\.py"):
        build_inference_config(fake.sdk, tmp_path, "score.py", environment=None)


def test_the_project_conda_file_can_serve_on_the_gpu():
    conda_file = PROJECT_ROOT / "model_service" / "environment.yml"
    if not conda_file.exists():
        pytest.skip("model_service/environment.yml is not written yet")
    text = conda_file.read_text()

    assert "tensorflow[and-cuda]" in text, "without the and-cuda extra TensorFlow finds no CUDA libraries"
    assert "azureml-inference-server-http" in text or "azureml-defaults" in text, "no inference server"


def test_the_conda_file_names_the_base_image_the_deployment_uses():
    # environment.yml documents the image it is meant for; the deployment takes the constant.
    conda_file = Path(__file__).resolve().parents[2] / "model_service" / "environment.yml"
    named = re.findall(r"^# Base image: (\S+)$", conda_file.read_text(), flags=re.MULTILINE)
    assert named == [GPU_BASE_IMAGE]


ENVIRONMENT_YML = PROJECT_ROOT / "model_service" / "environment.yml"


def _pip_pins(conda_file: Path) -> dict[str, str]:
    """`name==version` lines of the conda file's pip section, names lower-case, extras dropped."""
    pins: dict[str, str] = {}
    for line in conda_file.read_text().splitlines():
        found = re.fullmatch(r"\s*-\s+([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)\s*", line)
        if found:
            pins[found.group(1).lower()] = found.group(2)
    return pins


def _and_cuda_requirements() -> dict[str, str]:
    """TensorFlow's `and-cuda` extra as its installed metadata states it: name → lower bound,
    the versions TensorFlow was built and tested with."""
    (metadata,) = SCORING_SITE.glob("tensorflow-*.dist-info/METADATA")
    bounds: dict[str, str] = {}
    for line in metadata.read_text().splitlines():
        found = re.fullmatch(r'Requires-Dist: (nvidia-[a-z0-9-]+)<[^,]+,>=(\S+); extra == "and-cuda"', line)
        if found:
            bounds[found.group(1)] = found.group(2)
    return bounds


def test_every_cuda_library_tensorflow_takes_is_pinned_to_the_version_it_was_built_with():
    required = _and_cuda_requirements()
    assert required, "tensorflow's and-cuda extra lists no nvidia-* wheels: metadata changed?"
    pins = _pip_pins(ENVIRONMENT_YML)
    assert {name: pins.get(name) for name in required} == required


def test_the_inference_config_raises_no_azureml_defaults_warning(caplog, tmp_path: Path):
    # azureml-defaults 1.61 is a metapackage whose only inference requirement is
    # azureml-inference-server-http, which environment.yml pins itself.
    assert "azureml-inference-server-http" in _pip_pins(ENVIRONMENT_YML)
    source = tmp_path / "src"
    source.mkdir()
    (source / "score.py").write_text("def init():\n    pass\n")
    from azureml.core import Environment
    from azureml.core.model import InferenceConfig

    class RealSdk:  # the real offline classes: the warning comes from InferenceConfig itself
        pass

    RealSdk.Environment, RealSdk.InferenceConfig = Environment, InferenceConfig
    conda_file = tmp_path / "environment.yml"  # no comment that names the package
    conda_file.write_text(CONDA_FILE)
    environment = build_environment(RealSdk, "svc", conda_file, {})
    with caplog.at_level("WARNING"):
        build_inference_config(RealSdk, source, "score.py", environment)
    assert "azureml-defaults" not in caplog.text


def test_the_server_variables_are_the_environments_variables_and_reach_the_deployment_request(
    fake: FakeAzureMl, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """azureml-core 1.61's own serialization of the deployment's environment (what
    `_build_environment_image_request` sends) carries them; the SDK's placeholder variable and
    its training-run deprecation warning do not appear."""
    from azureml.core import Environment

    conda_file = tmp_path / "environment.yml"
    conda_file.write_text(CONDA_FILE)
    variables = server_variables(ServiceSettings(cpu_cores=2, memory_gb=4), ScoringSettings(max_batch=64))

    with caplog.at_level("WARNING"):
        environment = build_environment(fake.sdk, "mnist-gpu", conda_file, variables)

    serialized = Environment._serialize_to_dict(environment)["environmentVariables"]
    assert serialized == variables
    assert serialized["SCORE_MAX_BATCH"] == "64" and serialized["WORKER_COUNT"] == "1"
    assert "EXAMPLE_ENV_VAR" not in serialized
    assert "deprecated" not in caplog.text


@pytest.mark.parametrize(
    ("cpu_cores", "memory_gb", "workers"),
    [(2, 4, 2), (3.86, 12, 3), (2, 1.2, 1), (1, 0.5, 1), (4, 2.6, 3), (0.5, 8, 1)],
)
def test_worker_count_is_one_per_whole_core_while_memory_allows(cpu_cores, memory_gb, workers):
    settings = ServiceSettings(cpu_cores=cpu_cores, memory_gb=memory_gb, gpu_cores=0)
    variables = server_variables(settings, None)

    assert variables == {"WORKER_COUNT": str(workers)}  # without scoring settings: none of SCORE_*


@pytest.mark.parametrize(
    ("cpu_cores", "memory_gb", "workers"),
    # 2.5 GB per GPU worker, 0.5 GB kept: the how-to's 2 cores and 4 GB hold one.
    [(2, 4, 1), (2, 5.5, 2), (2, 5.4, 1), (4, 16, 4), (0.5, 8, 1)],
)
def test_a_gpu_replica_sizes_its_workers_by_the_gpu_workers_memory(cpu_cores, memory_gb, workers):
    variables = server_variables(ServiceSettings(cpu_cores=cpu_cores, memory_gb=memory_gb, gpu_cores=1), None)

    # A replica with a GPU requires it: it fails its start rather than serve on the CPU.
    assert variables == {"WORKER_COUNT": str(workers), "SCORE_REQUIRE_GPU": "true"}
