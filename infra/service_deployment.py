"""The `ModelDeployment` (the dynamic provider's resource, deployment/resource.py) from the stack
config, and what a stack exports of it: the service of the azure (v1) and local targets."""

from __future__ import annotations

from typing import Any

import pulumi

from config import StackConfig
from deployment.resource import ModelDeployment, ModelDeploymentArgs
from deployment.targets import AzureTarget, LocalTarget

OUTPUTS = ("scoring_uri", "swagger_uri", "health_uri", "state", "model_id", "model_version")


def declare_model_deployment(
    cfg: StackConfig, target: AzureTarget | LocalTarget, opts: pulumi.ResourceOptions | None = None
) -> dict[str, Any]:
    deployment = ModelDeployment(
        "model",
        ModelDeploymentArgs(
            service_name=cfg.service_name,
            target=target,
            settings=cfg.service,
            scoring=cfg.scoring,
            model_name=cfg.model_name,
            model_dir=str(cfg.model_dir),
            source_dir=str(cfg.source_dir),
            environment_file=str(cfg.environment_file),
            tags=cfg.tags,
        ),
        opts=opts,
    )
    exports: dict[str, Any] = {output: getattr(deployment, output) for output in OUTPUTS}
    if isinstance(target, AzureTarget):
        # Secret in the engine already (additional_secret_outputs); wrapped so no path exports them plain.
        exports["primary_key"] = pulumi.Output.secret(deployment.primary_key)
        exports["secondary_key"] = pulumi.Output.secret(deployment.secondary_key)
    return exports


def declare_local_target(cfg: StackConfig) -> dict[str, Any]:
    """target local: the deployment only (Azure ML's inference server on this machine)."""
    assert cfg.local_target is not None  # config/stack.py sets it for target local
    return declare_model_deployment(cfg, cfg.local_target)
