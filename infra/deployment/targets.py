"""Where a deployment goes. The target's kind picks the backend; a changed target replaces.

The program builds these: `AzureTarget` from the workspace and cluster outputs (so its fields
may be `pulumi.Output[str]` there), `LocalTarget` from the local stack's config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class LocalTarget:
    """This machine: Azure ML's inference server (azmlinfsrv) as a detached local process."""

    backend: ClassVar[str] = "local"
    python: str | None = None  # scoring interpreter; None: <project>/.venv-scoring/bin/python
    state_dir: str | None = None  # None: <project>/.state/local-deployments (git-ignored)
    workers: int | None = None  # None: chosen from cores and memory (see local/backend.py)


@dataclass(frozen=True)
class AzureTarget:
    """An Azure ML workspace and the AKS inference compute attached to it."""

    backend: ClassVar[str] = "azureml"
    subscription_id: Any  # pulumi.Input[str]
    resource_group: Any  # pulumi.Input[str]
    workspace_name: Any  # pulumi.Input[str]
    compute_name: Any  # pulumi.Input[str]
