"""azureml-core's OWN validation of `AksWebservice.update`, run for real on what we send.

`AksWebservice.update` validates its arguments (`_validate_update`) before any HTTP call; Azure is
unreachable here, so the tests call that real validation on an object holding the attributes it
reads from a live service (its environment, image, resources and auth flags), built from the
settings the service runs with.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

from azureml.core.webservice import AksWebservice
from azureml.core.webservice.aks import ContainerResourceRequirements

from deployment.settings import ServiceSettings

_PARAMETERS = [
    name for name in inspect.signature(AksWebservice._validate_update).parameters if name != "self"
]


def running_service(settings: ServiceSettings) -> SimpleNamespace:
    """The attributes `_validate_update` reads, as a service deployed from an Environment has them."""
    return SimpleNamespace(
        environment=object(),  # deployed with an Environment (InferenceConfig), never an Image
        image=None,
        container_resource_requirements=ContainerResourceRequirements(
            cpu=settings.cpu_cores, memory_in_gb=settings.memory_gb, gpu=settings.gpu_cores
        ),
        auth_enabled=settings.auth == "key",
        token_auth_enabled=settings.auth == "token",
    )


def validate_update(service: Any, arguments: dict[str, Any]) -> None:
    """Raise `WebserviceException` exactly where `AksWebservice.update(**arguments)` would."""
    unknown = set(arguments) - set(_PARAMETERS)
    if unknown:
        raise TypeError(f"AksWebservice.update() has no parameters {sorted(unknown)}")
    AksWebservice._validate_update(service, *(arguments.get(name) for name in _PARAMETERS))
