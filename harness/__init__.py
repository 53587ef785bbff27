"""Test and benchmark harnesses shared by tests/ and bench/ (neither imports the other's modules):

- `harness.program`: the Pulumi program (infra/__main__.py) evaluated under `pulumi.runtime.set_mocks`;
- `harness.provider_host`: the real dynamic provider host (`python -m pulumi.dynamic`) driven over gRPC.

The program and the provider host import infra/'s modules top-level (`config`, `deployment.*`),
exactly as the engine runs them, so infra/ is put on sys.path here once.
"""

from __future__ import annotations

import sys
from pathlib import Path

_INFRA = str(Path(__file__).resolve().parent.parent / "infra")
if _INFRA not in sys.path:
    sys.path.append(_INFRA)
