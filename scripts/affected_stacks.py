"""Which stacks a change affects: the pull-request workflow previews exactly these.

    python -m scripts.affected_stacks --base origin/main    (prints a JSON list, e.g. ["dev", "dev-v2"])

- A changed `Pulumi.<stack>.yaml` affects that stack (if the file still exists).
- A change to the program or what it deploys (`PROGRAM_PATHS`) affects every stack in the
  project: each `Pulumi.<stack>.yaml` is one.
- A stack whose `aml-gpu-inference:target` is `local`, or unset (config's default is local), is
  never previewed in CI: it targets the machine it runs on, not Azure.
- Anything else (docs, tests, workflows) affects no stack, so no preview runs.

Stdlib only (the workflow runs it on a bare Python): a stack file in JSON (the sandbox writes
those; JSON is YAML) is parsed, one in YAML proper is read for its `aml-gpu-inference:target:` line.
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
LOCAL_TARGET = "local"
# Prefixes (directories end in /) and files whose change alters what `pulumi up` would do.
PROGRAM_PATHS = ("infra/", "model_service/", "Pulumi.yaml", "requirements.txt")

_STACK_CONFIG = re.compile(r"^Pulumi\.(?P<stack>[^/]+)\.ya?ml$")
TARGET_KEY = "aml-gpu-inference:target"
_TARGET_LINE = re.compile(rf"""^\s*["']?{TARGET_KEY}["']?\s*:\s*["']?(?P<target>[^"'\s#]+)""", re.MULTILINE)


def affected_stacks(changed: Iterable[str], root: Path = PROJECT_ROOT) -> list[str]:
    """The stacks to preview for these changed paths (relative to `root`), sorted."""
    stack_files = {
        match["stack"]: path for path in root.iterdir() if (match := _STACK_CONFIG.match(path.name))
    }
    stacks: set[str] = set()
    for path in changed:
        match = _STACK_CONFIG.match(path)
        if match and match["stack"] in stack_files:
            stacks.add(match["stack"])
        elif any(path == p or (p.endswith("/") and path.startswith(p)) for p in PROGRAM_PATHS):
            stacks.update(stack_files)
    return sorted(stack for stack in stacks if stack_target(stack_files[stack]) not in (None, LOCAL_TARGET))


def stack_target(stack_file: Path) -> str | None:
    """The `aml-gpu-inference:target` a stack file sets, or None when it sets none."""
    text = stack_file.read_text()
    try:
        document = json.loads(text)
    except ValueError:  # YAML proper: the target's own line
        match = _TARGET_LINE.search(text)
        return match["target"] if match else None
    target = (document.get("config") or {}).get(TARGET_KEY) if isinstance(document, dict) else None
    return target if isinstance(target, str) else None


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
