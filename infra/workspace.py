"""`MlWorkspace`: an Azure ML workspace and what it needs, or an existing workspace adopted as is.

Creating declares, as children of the component: resource group, storage account, key vault,
Log Analytics workspace, Application Insights, container registry and the
`machinelearningservices.Workspace` with a system-assigned identity. Adopting declares none of
them: the outputs are the existing workspace's coordinates, and destroy leaves it alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import (
    applicationinsights,
    authorization,
    containerregistry,
    keyvault,
    machinelearningservices,
    operationalinsights,
    resources,
    storage,
)

from aliases import drop_api_version_aliases
from config import ExistingWorkspace
from naming import StackNames

# A deleted key vault is kept this many days (Azure's minimum) and blocks its name meanwhile.
KEY_VAULT_SOFT_DELETE_DAYS = 7


@dataclass
class MlWorkspaceArgs:
    names: StackNames
    location: pulumi.Input[str]
    tags: pulumi.Input[dict[str, str]] = field(default_factory=dict)
    existing: ExistingWorkspace | None = None  # adopt this one instead of creating


class MlWorkspace(pulumi.ComponentResource):
    """Outputs: `subscription_id`, `resource_group_name`, `workspace_name`, `workspace_id`, and
    `location`: the workspace's own region (an adopted one's may differ from the stack's).
    `destroy_last` holds the created Workspace (nothing when adopted): what the cluster is
    declared after, so that destroy deletes the cluster before it."""

    subscription_id: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    location: pulumi.Output[str]
    destroy_last: list[pulumi.Resource]

    def __init__(self, name: str, args: MlWorkspaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # Children inherit the transformation (see aliases.py for why).
        own = pulumi.ResourceOptions(transformations=[drop_api_version_aliases])
        super().__init__("amlgpu:azure:MlWorkspace", name, None, pulumi.ResourceOptions.merge(opts, own))
        self.destroy_last = []
        if args.existing is not None:
            self._adopt(args.existing)
        else:
            self._create(name, args)
        self.register_outputs(
            {
                "subscription_id": self.subscription_id,
                "resource_group_name": self.resource_group_name,
                "workspace_name": self.workspace_name,
                "workspace_id": self.workspace_id,
                "location": self.location,
            }
        )

    def _adopt(self, existing: ExistingWorkspace) -> None:
        # Invokes below go through the parent's provider: the adopted subscription's, if given.
        self.subscription_id = pulumi.Output.from_input(existing.subscription_id)
        self.resource_group_name = pulumi.Output.from_input(existing.resource_group)
        self.workspace_name = pulumi.Output.from_input(existing.name)
        self.workspace_id = pulumi.Output.from_input(
            f"/subscriptions/{existing.subscription_id}/resourceGroups/{existing.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{existing.name}"
        )
        # Read, not assumed: the attach must go to the workspace's region, as azureml-core sends it.
        found = machinelearningservices.get_workspace_output(
            resource_group_name=existing.resource_group,
            workspace_name=existing.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.location = found.location.apply(lambda location: location or "")

    def _create(self, name: str, args: MlWorkspaceArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        names = args.names
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))

        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=names.resource_group,
            location=args.location,
            tags=args.tags,
            opts=child,
        )
        common = {"resource_group_name": group.name, "location": group.location, "tags": args.tags}

        account = storage.StorageAccount(
            f"{name}-storage",
            account_name=names.storage_account,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
            allow_blob_public_access=False,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            **common,
            opts=child,
        )
        vault = keyvault.Vault(
            f"{name}-keyvault",
            vault_name=names.key_vault,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                # No access_policies, not even []: Azure ML adds its workspace identity's policy,
                # and a declared list is sent with every later PUT of the vault (a changed tag is
                # enough), replacing that policy. Left out, azure-native sends [] on create only
                # and keeps the vault's policies on update (pulumi/pulumi-azure-native#2951).
                enable_soft_delete=True,
                soft_delete_retention_in_days=KEY_VAULT_SOFT_DELETE_DAYS,
            ),
            **common,
            opts=child,
        )
        logs = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=names.log_analytics,
            sku=operationalinsights.WorkspaceSkuArgs(
                name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018
            ),
            retention_in_days=30,
            **common,
            opts=child,
        )
        insights = applicationinsights.Component(
            f"{name}-insights",
            resource_name_=names.app_insights,
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
            workspace_resource_id=logs.id,
            **common,
            opts=child,
        )
        registry = containerregistry.Registry(
            f"{name}-registry",
            registry_name=names.container_registry,
            sku=containerregistry.SkuArgs(name=containerregistry.SkuName.BASIC),
            # SDK v1 image builds push to, and AKS services pull from, the registry with its admin
            # credentials, which Azure ML reads from the registry itself (never from this program).
            admin_user_enabled=True,
            **common,
            opts=child,
        )
        workspace = machinelearningservices.Workspace(
            f"{name}-workspace",
            workspace_name=names.workspace,
            identity=machinelearningservices.ManagedServiceIdentityArgs(
                type=machinelearningservices.ManagedServiceIdentityType.SYSTEM_ASSIGNED
            ),
            sku=machinelearningservices.SkuArgs(name="Basic", tier=machinelearningservices.SkuTier.BASIC),
            storage_account=account.id,
            key_vault=vault.id,
            application_insights=insights.id,
            container_registry=registry.id,
            **common,
            opts=child,
        )

        self.subscription_id = client.subscription_id
        self.resource_group_name = group.name
        self.workspace_name = workspace.name
        self.workspace_id = workspace.id
        self.location = workspace.location
        self.destroy_last = [workspace]
