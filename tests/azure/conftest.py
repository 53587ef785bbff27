"""Fixtures for the Azure backend tests: the FAKE azureml-core (Azure is unreachable here) and
real DeploymentSpecs over small real directories."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure_cases import CONDA_FILE, DEV_SETTINGS, SP_ENVIRON, WORKSPACE, Progress
from fakes.azureml_sdk import FakeAzureMl, state_for
from specs import build_spec

from deployment.azureml.backend import AzureMlBackend
from deployment.spec import DeploymentSpec


@pytest.fixture
def fake() -> FakeAzureMl:
    return FakeAzureMl(state=state_for(WORKSPACE))


@pytest.fixture
def backend(fake: FakeAzureMl) -> AzureMlBackend:
    return AzureMlBackend(sdk=fake.sdk, environ=dict(SP_ENVIRON), progress_interval_s=0.01)


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A model directory, a source directory with score.py, and the conda file."""
    model = tmp_path / "model"
    (model / "variables").mkdir(parents=True)
    (model / "saved_model.pb").write_bytes(b"not a real graph: the fake never loads it")
    source = tmp_path / "model_service"
    source.mkdir()
    (source / "score.py").write_text("def init():\n    pass\n\n\ndef run(raw):\n    return []\n")
    (source / "environment.yml").write_text(CONDA_FILE)
    return tmp_path


SpecFactory = Callable[..., DeploymentSpec]


@pytest.fixture
def make_spec(content: Path) -> SpecFactory:
    def build(**changes: Any) -> DeploymentSpec:
        spec = build_spec(
            service_name="mnist-gpu",
            backend="azureml",
            target=dict(WORKSPACE),
            settings=DEV_SETTINGS,
            model_dir=str(content / "model"),
            source_dir=str(content / "model_service"),
            environment_file=str(content / "model_service" / "environment.yml"),
            tags={"stack": "dev"},
        )
        return dataclasses.replace(spec, **changes)

    return build


@pytest.fixture
def progress() -> Progress:
    return Progress()
