"""The registered model a deployment serves: the version whose content hash tag equals the spec's,
registered only when no version has it, so repeated `pulumi up`s create no new versions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from deployment.azureml.service import MODEL_HASH_TAG, model_id_of, owner_of
from deployment.backend import Progress
from deployment.spec import OWNER_TAG

if TYPE_CHECKING:
    from deployment.spec import DeploymentSpec


def registered_model(sdk: Any, workspace: Any, spec: DeploymentSpec, progress: Progress) -> Any:
    """The newest version of `spec.model_name` with the spec's content hash, else a new one."""
    candidates = sdk.Model.list(workspace, name=spec.model_name, tags=[[MODEL_HASH_TAG, spec.model_hash]])
    matching = [m for m in candidates if (m.tags or {}).get(MODEL_HASH_TAG) == spec.model_hash]
    if matching:
        model = max(matching, key=lambda m: int(m.version))
        progress(f"reusing model {model_id_of(model)} (same content hash)")
        return model
    progress(f"registering model {spec.model_name} from {Path(spec.model_dir).name}/")
    return sdk.Model.register(
        workspace=workspace,
        model_path=str(spec.model_dir),
        model_name=spec.model_name,
        tags={MODEL_HASH_TAG: spec.model_hash, OWNER_TAG: owner_of(spec)},
        description=f"{spec.model_name}, deployed by {owner_of(spec)}",
    )
