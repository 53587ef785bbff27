"""The REAL provider host (`python -m pulumi.dynamic`) with the FAKE azureml-core (Azure is
unreachable here) in place of the real one: test wiring, kept out of the product.

    ProviderHost.start(program=FAKE_SDK_HOST, extra_env={STATE_FILE_VARIABLE: <state file>})

Run with the working directory infra/, as the engine runs the host: the pickled provider is
imported from there. The Azure backend's `real_sdk` is replaced by the fake backed by the JSON
file AMLGPU_FAKE_AZUREML_STATE names, then the host's own `__main__` runs unchanged.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
FAKE_SDK_HOST: tuple[str, ...] = (str(Path(__file__).resolve()),)  # ProviderHost.start(program=...)

if __name__ == "__main__":
    sys.path[0] = os.getcwd()  # what `python -m` puts first: infra/, where the provider lives
    sys.path.insert(1, str(TESTS_DIR))

    from fakes.azureml_sdk import file_backed_sdk

    import deployment.azureml.backend

    deployment.azureml.backend.real_sdk = file_backed_sdk
    runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
