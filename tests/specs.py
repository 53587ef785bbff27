"""The one `DeploymentSpec` builder of the tests (the Azure tests' `make_spec` fixture is this over
their directories): a spec of the how-to's service with placeholder hashes and paths, any field
replaced; `content_fields` puts real directories and their hashes in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deployment.hashing import file_sha256, tree_sha256
from deployment.settings import ServiceSettings
from deployment.spec import DeploymentSpec

PLACEHOLDERS: dict[str, Any] = {
    "service_name": "aks-dnn-mnist",
    "backend": "local",
    "target": {},
    "model_name": "mnist-dnn",
    "model_hash": "a" * 64,
    "source_hash": "b" * 64,
    "environment_hash": "c" * 64,
    "settings": ServiceSettings(),
    "model_dir": "/checkout/artifacts/model",
    "source_dir": "/checkout/model_service",
    "environment_file": "/checkout/model_service/environment.yml",
}


def build_spec(**fields: Any) -> DeploymentSpec:
    return DeploymentSpec(**{**PLACEHOLDERS, **fields})


def content_fields(model_dir: Path, source_dir: Path, environment_file: Path) -> dict[str, str]:
    """The spec's paths and content hashes of real files, as `ModelDeploymentArgs.to_spec` has them
    (the local backend's environment hash: the file alone)."""
    return {
        "model_dir": str(model_dir),
        "source_dir": str(source_dir),
        "environment_file": str(environment_file),
        "model_hash": tree_sha256(model_dir),
        "source_hash": tree_sha256(source_dir),
        "environment_hash": file_sha256(environment_file),
    }
