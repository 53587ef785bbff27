"""ModelDeployment: the dynamic resource that deploys the model, and its typed args.

The program constructs it; construction hashes the content (model directory, source directory,
environment file) so `pulumi preview` shows a content change as an update. The provider does
the work (provider.py). Keys are secret outputs; they are None when the backend issues none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic

from deployment.hashing import environment_sha256, file_sha256, tree_sha256
from deployment.provider import OUTPUT_NAMES, SECRET_OUTPUTS, ModelDeploymentProvider
from deployment.settings import ScoringSettings, ServiceSettings
from deployment.spec import OWNER_TAG, DeploymentSpec, target_fields
from deployment.targets import AzureTarget, LocalTarget


@dataclass(frozen=True, kw_only=True)
class ModelDeploymentArgs:
    """What to deploy where. Paths are absolute; their content, not their location, is compared."""

    service_name: str
    target: LocalTarget | AzureTarget  # AzureTarget fields may be pulumi Outputs
    settings: ServiceSettings
    scoring: ScoringSettings = field(default_factory=ScoringSettings)
    model_name: str  # no default here: the one default is the stack config's (config/types.py)
    model_dir: str
    source_dir: str  # model_service/
    entry_script: str = "score.py"
    environment_file: str
    tags: Mapping[str, str] = field(default_factory=dict)

    def to_spec(self) -> DeploymentSpec:
        """The spec with content hashes. Raises ValueError naming the field when a path is bad."""
        return DeploymentSpec(
            service_name=self.service_name,
            backend=self.target.backend,
            target=target_fields(self.target),
            model_name=self.model_name,
            model_hash=_hash_dir("model_dir", self.model_dir, "train it first: make model"),
            source_hash=_hash_dir("source_dir", self.source_dir, "the model_service/ directory"),
            environment_hash=_environment_hash(self.target.backend, self.environment_file),
            settings=self.settings,
            scoring=self.scoring,
            entry_script=self.entry_script,
            model_dir=self.model_dir,
            source_dir=self.source_dir,
            environment_file=self.environment_file,
            tags={OWNER_TAG: f"{pulumi.get_project()}/{pulumi.get_stack()}", **self.tags},
        )


def _absolute(name: str, value: str) -> Path:
    path = Path(value)
    if not path.is_absolute():
        raise ValueError(f"ModelDeploymentArgs.{name}: {value!r} is not allowed: an absolute path")
    return path


def _hash_dir(name: str, value: str, hint: str) -> str:
    path = _absolute(name, value)
    try:
        return tree_sha256(path)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"ModelDeploymentArgs.{name}: {value!r} is not a directory with files ({hint})"
        ) from e


def _environment_hash(backend: str, environment_file: str) -> str:
    """On Azure the image is built from the conda file AND the base image, so both are in the
    hash: a new base image is a change the service must be updated for. Locally no image is built."""
    path = _existing_file("environment_file", environment_file)
    if backend != "azureml":
        return file_sha256(path)
    from deployment.azure_common.environment import GPU_BASE_IMAGE

    return environment_sha256(path, GPU_BASE_IMAGE)


def _existing_file(name: str, value: str) -> Path:
    path = _absolute(name, value)
    if not path.is_file():
        raise ValueError(f"ModelDeploymentArgs.{name}: {value!r} is not a file")
    return path


class ModelDeployment(pulumi.dynamic.Resource, module="amlgpu", name="ModelDeployment"):
    """The model as a web service (type token `pulumi-python:dynamic/amlgpu:ModelDeployment`)."""

    scoring_uri: pulumi.Output[str]
    swagger_uri: pulumi.Output[str | None]
    health_uri: pulumi.Output[str | None]
    state: pulumi.Output[str]
    model_id: pulumi.Output[str]
    model_version: pulumi.Output[str]
    primary_key: pulumi.Output[str | None]
    secondary_key: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: ModelDeploymentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        spec = args.to_spec()
        props: dict[str, Any] = spec.to_inputs()
        # Declared so the engine knows them as outputs; the provider fills them in.
        props.update({output: None for output in OUTPUT_NAMES})
        props["model_version"] = spec.model_version  # content-derived: known at preview
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_OUTPUTS))
        super().__init__(
            ModelDeploymentProvider(),
            name,
            props,
            pulumi.ResourceOptions.merge(opts, secret_opts),
        )
