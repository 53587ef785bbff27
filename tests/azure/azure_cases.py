"""Shared values and helpers of the Azure backend tests (imported by name: `azure_cases`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from deployment.settings import Autoscale, ServiceSettings

WORKSPACE = {
    "subscription_id": "11111111-2222-3333-4444-555555555555",
    "resource_group": "rg-amlgpu-dev",
    "workspace_name": "mlw-amlgpu-dev",
    "compute_name": "gpu-aks",
}

# The how-to's deploy_configuration: autoscale off, 3 replicas, 2 CPU cores, 4 GB, 1 GPU.
DEV_SETTINGS = ServiceSettings(
    replicas=3,
    cpu_cores=2.0,
    memory_gb=4.0,
    gpu_cores=1,
    autoscale=Autoscale(enabled=False),
    auth="key",
    scoring_timeout_ms=60_000,
    max_concurrent_requests_per_replica=1,
)

CONDA_FILE = """\
name: amlgpu-scoring
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
      - tensorflow[and-cuda]==2.21.0
      - azureml-inference-server-http==1.5.1
"""

# Credentials of a service principal for the tests' environment mapping (never os.environ).
SP_ENVIRON = {
    "AZURE_CLIENT_ID": "client-id-for-tests",
    "AZURE_TENANT_ID": "tenant-id-for-tests",
    "AZURE_CLIENT_SECRET": "s3cret-value-that-must-never-leak",
}


class Progress:
    """Collects progress messages; `on_message` lets a test react to one."""

    def __init__(self, on_message: Callable[[str], None] | None = None) -> None:
        self.messages: list[str] = []
        self._on_message = on_message

    def __call__(self, message: str) -> None:
        self.messages.append(message)
        if self._on_message is not None:
            self._on_message(message)


def assert_no_secret(secret: str, *places: Any) -> None:
    for place in places:
        text = json.dumps(place, default=str)
        assert secret not in text, f"the secret leaked into {text[:200]}..."
