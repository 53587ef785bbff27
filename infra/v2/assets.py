"""`ModelAssets`: the model, the code and the environment as Azure ML v2 asset versions.

    ModelAssets (amlgpu:azure:ModelAssets)
        ├── Blob × n           model_service/ and the SavedModel, uploaded to the workspace's
        │                      default blob container under content-addressed paths
        ├── CodeVersion        the uploaded model_service/ (score.py is its scoring script)
        ├── ModelVersion       azureml://…/datastores/workspaceblobstore/paths/… of the SavedModel
        └── EnvironmentVersion the GPU base image and environment.yml's content as condaFile

Versions are immutable (Azure/azure-cli-extensions#5440), so every version is named by the content
hash of what it holds: unchanged content converges on the same version, changed content makes a
new one beside the old (the old is deleted at the end of the run, after traffic moved). Pulumi
names carry the version for the same reason: a change is create-new, delete-old. Every input
that changes what a version holds is in its hash (the environment's: the conda file and the base
image), and nothing that changes without changing the content (the stack's tags) is sent on a
version, so a tag bump never PUTs an existing one.

A registered model's version must be a positive integer (unlike code and environment versions:
the model YAML schema types it as int; Azure/azureml-examples#2725), so the model's is a number
taken from its content hash, and the full hash is kept in the version's `properties`.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi_azure_native import machinelearningservices, storage

from aliases import drop_api_version_aliases
from deployment.azure_common.environment import GPU_BASE_IMAGE
from deployment.hashing import environment_sha256, tree_files, tree_sha256

# The workspace's default datastore: its container is azureml-blobstore-<workspace id>.
DATASTORE = "workspaceblobstore"
SCORING_SCRIPT = "score.py"
VERSION_LENGTH = 16  # hex digits of the content hash: 64 bits, ample for one workspace
# A model version from 31 bits of its hash, 1..2**31-1: positive and within a 32-bit int wherever
# the service parses it; two contents of one model meet at one version with odds ~n²/2**32.
MODEL_VERSION_MODULUS = 2**31 - 1
CONTENT_HASH_PROPERTY = "amlgpu-content-sha256"


@dataclass(frozen=True)
class AssetVersions:
    """The content versions of one deployment; `spec` names the combination (with `settings`)."""

    model: str
    code: str
    environment: str

    def spec(self, settings: dict[str, object]) -> str:
        text = json.dumps({"versions": [self.model, self.code, self.environment], **settings}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:VERSION_LENGTH]


def model_version_number(content_sha256: str) -> str:
    """The model version for this content: a positive integer, the same for the same content."""
    return str(int(content_sha256[:8], 16) % MODEL_VERSION_MODULUS + 1)


def asset_versions(model_dir: Path, source_dir: Path, environment_file: Path) -> AssetVersions:
    return AssetVersions(
        model=model_version_number(tree_sha256(model_dir)),
        code=tree_sha256(source_dir)[:VERSION_LENGTH],
        environment=environment_sha256(environment_file, GPU_BASE_IMAGE)[:VERSION_LENGTH],
    )


@dataclass
class ModelAssetsArgs:
    subscription_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    model_name: str
    code_name: str
    environment_name: str
    model_dir: Path
    source_dir: Path
    environment_file: Path


class ModelAssets(pulumi.ComponentResource):
    """Outputs: `model_id`, `code_id`, `environment_id` (ARM ids); `versions` (known at construction)."""

    model_id: pulumi.Output[str]
    code_id: pulumi.Output[str]
    environment_id: pulumi.Output[str]
    versions: AssetVersions

    def __init__(self, name: str, args: ModelAssetsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        own = pulumi.ResourceOptions(transformations=[drop_api_version_aliases])
        super().__init__("amlgpu:azure:ModelAssets", name, None, pulumi.ResourceOptions.merge(opts, own))
        self.versions = versions = asset_versions(args.model_dir, args.source_dir, args.environment_file)
        child = pulumi.ResourceOptions(parent=self)
        workspace = machinelearningservices.get_workspace_output(
            resource_group_name=args.resource_group_name,
            workspace_name=args.workspace_name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        store = _BlobStore(workspace.storage_account, workspace.workspace_id)
        common = {"resource_group_name": args.resource_group_name, "workspace_name": args.workspace_name}

        code_path = f"code/{args.code_name}/{versions.code}"
        code_blobs = store.upload(f"{name}-code-{versions.code}", args.source_dir, code_path, self)
        code = machinelearningservices.CodeVersion(
            f"{name}-code-{versions.code}",
            name=args.code_name,
            version=versions.code,
            properties=machinelearningservices.CodeVersionPropertiesArgs(
                code_uri=store.https_url(code_path),
                description=f"model_service/ (scoring script {SCORING_SCRIPT})",
            ),
            **common,
            opts=pulumi.ResourceOptions(parent=self, depends_on=code_blobs),
        )

        # The model's folder name is the last path segment; AZUREML_MODEL_DIR is its parent.
        model_path = f"models/{args.model_name}/{versions.model}/model"
        model_blobs = store.upload(f"{name}-model-{versions.model}", args.model_dir, model_path, self)
        model = machinelearningservices.ModelVersion(
            f"{name}-model-{versions.model}",
            name=args.model_name,
            version=versions.model,
            properties=machinelearningservices.ModelVersionPropertiesArgs(
                model_type="custom_model",
                model_uri=pulumi.Output.format(
                    "azureml://subscriptions/{0}/resourcegroups/{1}/workspaces/{2}/datastores/{3}/paths/{4}",
                    args.subscription_id,
                    args.resource_group_name,
                    args.workspace_name,
                    DATASTORE,
                    model_path,
                ),
                description="TensorFlow SavedModel (784-300-100-10 DNN)",
                properties={CONTENT_HASH_PROPERTY: tree_sha256(args.model_dir)},
            ),
            **common,
            opts=pulumi.ResourceOptions(parent=self, depends_on=model_blobs),
        )

        environment = machinelearningservices.EnvironmentVersion(
            f"{name}-environment-{versions.environment}",
            name=args.environment_name,
            version=versions.environment,
            properties=machinelearningservices.EnvironmentVersionPropertiesArgs(
                image=GPU_BASE_IMAGE,
                conda_file=args.environment_file.read_text(),
                os_type=machinelearningservices.OperatingSystemType.LINUX,
                description=f"{args.environment_file.name} on {GPU_BASE_IMAGE}",
            ),
            **common,
            opts=child,
        )

        self.model_id = model.id
        self.code_id = code.id
        self.environment_id = environment.id
        self.register_outputs(
            {"model_id": self.model_id, "code_id": self.code_id, "environment_id": self.environment_id}
        )


class _BlobStore:
    """The workspace's default blob container, found from the workspace itself (created or adopted)."""

    def __init__(
        self, storage_account_id: pulumi.Output[str | None], workspace_guid: pulumi.Output[str]
    ) -> None:
        parts = storage_account_id.apply(_storage_account_parts)
        self.account = parts.apply(lambda p: p[1])
        self.resource_group = parts.apply(lambda p: p[0])
        self.container = workspace_guid.apply(lambda guid: f"azureml-blobstore-{guid}")

    def https_url(self, path: str) -> pulumi.Output[str]:
        return pulumi.Output.format(
            "https://{0}.blob.core.windows.net/{1}/{2}", self.account, self.container, path
        )

    def upload(self, name: str, root: Path, prefix: str, parent: pulumi.Resource) -> list[storage.Blob]:
        return [
            storage.Blob(
                f"{name}/{relative}",
                account_name=self.account,
                resource_group_name=self.resource_group,
                container_name=self.container,
                blob_name=f"{prefix}/{relative}",
                type=storage.BlobType.BLOCK,
                content_type=mimetypes.guess_type(relative)[0] or "application/octet-stream",
                source=pulumi.FileAsset(str(path)),
                opts=pulumi.ResourceOptions(parent=parent),
            )
            for relative, path in tree_files(root)
        ]


def _storage_account_parts(account_id: str | None) -> tuple[str, str]:
    """(resource group, account name) of a storage account's ARM id."""
    parts = (account_id or "").split("/")
    try:
        return parts[[part.lower() for part in parts].index("resourcegroups") + 1], parts[-1]
    except (ValueError, IndexError):
        raise ValueError(f"the workspace's storage account id {account_id!r} is not an ARM id") from None
