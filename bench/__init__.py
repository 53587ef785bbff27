"""Benchmarks that print figures measured in one run (see docs/performance.md).

`infra/` goes on sys.path here, so benchmarks import `deployment.*` (the local backend) top-level,
as the provider host does; what they share with the tests is in harness/."""

import sys
from pathlib import Path

_INFRA = str(Path(__file__).resolve().parent.parent / "infra")
if _INFRA not in sys.path:
    sys.path.insert(0, _INFRA)
