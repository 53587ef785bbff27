"""The azureml-core names the Azure backend calls, gathered so tests can hand in autospecced
doubles (`AzureMlBackend(sdk=...)`); production always uses `real_sdk()`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AzureSdk:
    """The azureml-core names this backend calls (the real classes, or autospecced doubles)."""

    Workspace: Any
    Model: Any
    Environment: Any
    InferenceConfig: Any
    AksWebservice: Any
    AksCompute: Any
    Webservice: Any
    WebserviceException: type[Exception]
    ServicePrincipalAuthentication: Any
    MsiAuthentication: Any
    AzureCliAuthentication: Any


def real_sdk() -> AzureSdk:
    # Imported here: azureml-core takes seconds to import and only the Azure target needs it.
    from azureml.core import Environment, Model, Workspace
    from azureml.core.authentication import (
        AzureCliAuthentication,
        MsiAuthentication,
        ServicePrincipalAuthentication,
    )
    from azureml.core.compute import AksCompute
    from azureml.core.model import InferenceConfig
    from azureml.core.webservice import AksWebservice, Webservice
    from azureml.exceptions import WebserviceException

    return AzureSdk(
        Workspace=Workspace,
        Model=Model,
        Environment=Environment,
        InferenceConfig=InferenceConfig,
        AksWebservice=AksWebservice,
        AksCompute=AksCompute,
        Webservice=Webservice,
        WebserviceException=WebserviceException,
        ServicePrincipalAuthentication=ServicePrincipalAuthentication,
        MsiAuthentication=MsiAuthentication,
        AzureCliAuthentication=AzureCliAuthentication,
    )
