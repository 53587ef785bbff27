"""Which stacks a change affects: the pull-request workflow previews exactly these.

    python -m scripts.affected_stacks --base origin/main    (prints a JSON list, e.g. ["dev"])

- A changed `Pulumi.<stack>.yaml` affects that stack (if the file still exists).
- A change to the program or what it deploys (`PROGRAM_PATHS`) affects the default stack, dev.
- The local stack is never previewed in CI: it targets the machine it runs on, not Azure.
- Anything else (docs, tests, workflows) affects no stack, so no preview runs.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STACK = "dev"
LOCAL_ONLY_STACKS = frozenset({"local"})
# Prefixes (directories end in /) and files whose change alters what `pulumi up` would do.
PROGRAM_PATHS = ("infra/", "model_service/", "Pulumi.yaml", "requirements.txt")

_STACK_CONFIG = re.compile(r"^Pulumi\.(?P<stack>[^/]+)\.ya?ml$")


def affected_stacks(changed: Iterable[str], root: Path = PROJECT_ROOT) -> list[str]:
    """The stacks to preview for these changed paths (relative to `root`), sorted."""
    stacks: set[str] = set()
    for path in changed:
        match = _STACK_CONFIG.match(path)
        if match and (root / path).exists():
            stacks.add(match["stack"])
        elif any(path == p or (p.endswith("/") and path.startswith(p)) for p in PROGRAM_PATHS):
            stacks.add(DEFAULT_STACK)
    return sorted(stacks - LOCAL_ONLY_STACKS)


def changed_files(base: str, root: Path = PROJECT_ROOT) -> list[str]:
    """Paths changed between the merge base with `base` and HEAD (`git diff base...HEAD`)."""
    result = subprocess.run(
        ["git", "diff", "--name-only", f"{base}...HEAD"], cwd=root, check=True, capture_output=True, text=True
    )
    return [line for line in result.stdout.splitlines() if line]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.affected_stacks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--base", required=True, help="the ref the change is compared with, e.g. origin/main")
    args = parser.parse_args(argv)
    try:
        changed = changed_files(args.base)
    except subprocess.CalledProcessError as e:
        print(f"git diff against {args.base!r} failed: {e.stderr.strip()}", file=sys.stderr)
        return 1
    print(json.dumps(affected_stacks(changed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
