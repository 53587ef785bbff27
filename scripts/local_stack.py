"""`make demo` and `make destroy-local`: the `local` stack through the Pulumi Automation API.

    python -m scripts.local_stack up        # the README's first command runs this
    python -m scripts.local_stack destroy

`up`: find a `pulumi` CLI (`scripts.pulumi_cli`: a compatible one on PATH, the project's own,
else install the official release, else build it from Go modules; else stop naming both ways),
log in to a file backend inside the project (file://<project>/.pulumi), select or create the
`local` stack with the documented empty passphrase (this demo stack holds no secret: the local
target issues no keys), train the model if it is absent, `pulumi up --yes` with the engine's
progress streamed to the terminal, run the how-to's sample query against the `scoring_uri`
output, and print how to tear it down. `destroy` does `pulumi destroy --yes` the same way.

Everything that talks to Pulumi goes through `Automation` (the real one, `PulumiAutomation`,
wraps `pulumi.automation`); tests hand in a double, and tests/engine runs the real one.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from scripts.pulumi_cli import CliFinder, CliNotFound, build_with_make, engine_env, sdk_version

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACK = "local"
# The local stack's passphrase is empty on purpose (docs/local-target.md): it encrypts nothing of
# value, and `make demo` must run without a prompt. Never reuse it for a stack with secrets.
DEMO_PASSPHRASE = ""

Log = Callable[[str], None]
Runner = Callable[[Sequence[str]], int]


class DemoError(Exception):
    """A step of the demo failed; the message says which and what to do."""


class StackHandle(Protocol):
    def up(self, on_output: Log) -> Mapping[str, Any]:
        """`pulumi up --yes`; returns the stack outputs as plain values."""

    def destroy(self, on_output: Log) -> None:
        """`pulumi destroy --yes`."""


class Automation(Protocol):
    """The boundary to Pulumi: the CLI and the stack."""

    def finder(self, paths: Paths) -> CliFinder:
        """How the CLI is found, installed or built (`scripts.pulumi_cli`)."""

    def command(self, cli: Path) -> Any:
        """A handle on the CLI at `cli`."""

    def stack(self, name: str, work_dir: Path, command: Any, env: Mapping[str, str]) -> StackHandle:
        """Select the stack, creating it if it does not exist."""


@dataclass(frozen=True)
class Paths:
    project_root: Path = PROJECT_ROOT

    @property
    def backend_dir(self) -> Path:
        return self.project_root / ".pulumi"

    @property
    def cli_root(self) -> Path:
        return self.project_root / ".pulumi-cli"

    @property
    def built_cli(self) -> Path:
        return self.project_root / ".tools" / "bin" / "pulumi"

    @property
    def model_dir(self) -> Path:
        return self.project_root / "artifacts" / "model"  # infra/config/types.py's default model.dir

    @property
    def scoring_python(self) -> Path:
        return self.project_root / ".venv-scoring" / "bin" / "python"

    @property
    def program_bin(self) -> Path:
        return self.project_root / ".venv" / "bin"


def stack_env(paths: Paths, environ: Mapping[str, str]) -> dict[str, str]:
    """What every pulumi call of the demo runs with (`scripts.pulumi_cli.engine_env`)."""
    return engine_env(paths.backend_dir, DEMO_PASSPHRASE, paths.program_bin, environ)


def find_cli(automation: Automation, paths: Paths, log: Log) -> Any:
    try:
        found = automation.finder(paths).find(log)
    except CliNotFound as error:
        raise DemoError(
            f"{error} (Meanwhile `make serve` and `make query` serve and query the same model on "
            "this machine without Pulumi.)"
        ) from error
    log(f"Pulumi CLI: {found.path}, {found.how}")
    return automation.command(found.path)


def ensure_model(paths: Paths, run: Runner, log: Log) -> None:
    if (paths.model_dir / "metadata.json").exists():
        return
    log(f"No trained model in {paths.model_dir}: training it (scikit-learn's digits)")
    command = [
        str(paths.scoring_python),
        "-m",
        "model_tools.train",
        "--digits",
        "--out",
        str(paths.model_dir),
    ]
    if run(command) != 0:
        raise DemoError(f"Training the model failed: {' '.join(command)}")


def _select(automation: Automation, paths: Paths, log: Log, environ: Mapping[str, str]) -> StackHandle:
    command = find_cli(automation, paths, log)
    paths.backend_dir.mkdir(parents=True, exist_ok=True)
    log(f"Stack {STACK!r} on the file backend {paths.backend_dir}")
    return automation.stack(STACK, paths.project_root, command, stack_env(paths, environ))


def demo(
    automation: Automation, paths: Paths, run: Runner, log: Log, environ: Mapping[str, str] = os.environ
) -> None:
    """Deploy the local stack, query it, say how to destroy it. Raises DemoError on failure."""
    stack = _select(automation, paths, log, environ)
    ensure_model(paths, run, log)
    log("pulumi up --yes")
    try:
        outputs = stack.up(log)
    except Exception as error:
        raise DemoError(f"pulumi up failed on stack {STACK!r}: {error}") from error
    scoring_uri = outputs.get("scoring_uri")
    if not scoring_uri:
        raise DemoError(f"the stack has no scoring_uri output (outputs: {sorted(outputs)})")
    log(f"Sample query against {scoring_uri}")
    query = [str(paths.scoring_python), "-m", "model_tools.client", "--uri", str(scoring_uri)]
    if run(query) != 0:
        raise DemoError(f"The sample query failed: {' '.join(query)}")
    log(f"\nThe model is served at {scoring_uri}\nTear it down with: make destroy-local")


def destroy(automation: Automation, paths: Paths, log: Log, environ: Mapping[str, str] = os.environ) -> None:
    stack = _select(automation, paths, log, environ)
    log("pulumi destroy --yes")
    try:
        stack.destroy(log)
    except Exception as error:
        raise DemoError(f"pulumi destroy failed on stack {STACK!r}: {error}") from error
    log(f"Stack {STACK!r} destroyed: nothing of it runs any more.")


class PulumiAutomation:
    """`Automation` over `pulumi.automation` (needs the CLI at call time, not at import)."""

    def finder(self, paths: Paths) -> CliFinder:
        return CliFinder(
            sdk=sdk_version(),
            install=self._install,
            build=lambda: build_with_make(paths.project_root),
            built_cli=paths.built_cli,
            installed_root=paths.cli_root,
        )

    def command(self, cli: Path) -> Any:
        from pulumi import automation as auto

        # PulumiCommand runs <root>/bin/pulumi.
        return auto.PulumiCommand(root=str(cli.parent.parent))

    @staticmethod
    def _install(root: Path, version: str) -> Path:
        from pulumi import automation as auto
        from semver import VersionInfo

        auto.PulumiCommand.install(root=str(root), version=VersionInfo.parse(version))
        return root / "bin" / "pulumi"

    def stack(self, name: str, work_dir: Path, command: Any, env: Mapping[str, str]) -> StackHandle:
        from pulumi import automation as auto

        options = auto.LocalWorkspaceOptions(
            work_dir=str(work_dir),
            pulumi_command=command,
            env_vars=dict(env),
            secrets_provider="passphrase",
        )
        return _AutomationStack(auto.create_or_select_stack(name, work_dir=str(work_dir), opts=options))


class _AutomationStack:
    def __init__(self, stack: Any) -> None:
        self._stack = stack

    def up(self, on_output: Log) -> Mapping[str, Any]:
        result = self._stack.up(on_output=on_output, color="auto")
        return {name: output.value for name, output in result.outputs.items()}

    def destroy(self, on_output: Log) -> None:
        self._stack.destroy(on_output=on_output, color="auto")


def run_streaming(command: Sequence[str]) -> int:
    """Run a command in the project root with its output going straight to the terminal."""
    return subprocess.run(list(command), cwd=PROJECT_ROOT, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.local_stack", description=__doc__.splitlines()[0]
    )
    parser.add_argument("action", choices=("up", "destroy"))
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line.rstrip("\n"), flush=True)

    try:
        if args.action == "up":
            demo(PulumiAutomation(), Paths(), run_streaming, log)
        else:
            destroy(PulumiAutomation(), Paths(), log)
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
