"""A throwaway copy of this project for running the real `pulumi` on a stack of its own.

The copy has the program, the model service, the policy pack, the Makefile and the scripts; the
two virtualenvs and the project's own CLI are linked, not copied; the model is copied so that a
caller may change it. The stack lives on a file backend inside the copy, so nothing touches the
project's own `.pulumi/` or `.state/`. Used by the real-engine tests (tests/engine) and the
engine benchmark (bench/engine_ops.py). Stdlib only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.pulumi_cli import PROJECT_ROOT, engine_env

PROJECT = "aml-gpu-inference"
COPIED = (
    "Pulumi.yaml",
    "Pulumi.local.yaml",
    "infra",
    "model_service",
    "model_tools",
    "policy",
    "scripts",
    "Makefile",
    "mk",
    "requirements.txt",
    "requirements-dev.txt",
)
LINKED = (".venv", ".venv-scoring", ".tools")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
# The demo stack's documented empty passphrase (docs/local-target.md): these stacks hold no secret.
PASSPHRASE = ""


def _encryption_salt() -> str:
    """The committed local stack's salt, so every sandbox stack takes the empty passphrase."""
    for line in (PROJECT_ROOT / "Pulumi.local.yaml").read_text().splitlines():
        if line.startswith("encryptionsalt:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError("Pulumi.local.yaml has no encryptionsalt")


@dataclass
class SandboxProject:
    root: Path
    cli: Path
    stack: str = "local"
    extra_env: Mapping[str, str] | None = None

    @classmethod
    def create(cls, dest: Path, cli: Path, model_dir: Path, stack: str = "local") -> SandboxProject:
        dest.mkdir(parents=True, exist_ok=True)
        for name in COPIED:
            source = PROJECT_ROOT / name
            if source.is_dir():
                # symlinks=True keeps infra/.venv a link to ../.venv (the dynamic-provider launcher's).
                shutil.copytree(source, dest / name, symlinks=True, ignore=_IGNORED)
            else:
                shutil.copy2(source, dest / name)  # copy2: mtimes kept, so make sees nothing new
        for name in LINKED:
            (dest / name).symlink_to(PROJECT_ROOT / name)
        shutil.copytree(model_dir, dest / "artifacts" / "model")
        (dest / ".pulumi").mkdir()
        sandbox = cls(root=dest, cli=cli, stack=stack)
        sandbox.write_config({"target": "local"})
        return sandbox

    @property
    def model_dir(self) -> Path:
        return self.root / "artifacts" / "model"

    @property
    def state_dir(self) -> Path:
        return self.root / ".state" / "local-deployments"

    def write_config(self, config: Mapping[str, Any]) -> None:
        """Pulumi.<stack>.yaml with these `aml-gpu-inference:` keys (JSON is YAML)."""
        document = {
            "config": {f"{PROJECT}:{key}": value for key, value in config.items()},
            "encryptionsalt": _encryption_salt(),
        }
        (self.root / f"Pulumi.{self.stack}.yaml").write_text(json.dumps(document, indent=2) + "\n")

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(engine_env(self.root / ".pulumi", PASSPHRASE, self.root / ".venv" / "bin", os.environ))
        env["PULUMI_HOME"] = str(self.root / ".pulumi-home")
        env.update(self.extra_env or {})
        return env

    def pulumi(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """`pulumi ARGS --stack S --non-interactive` in the copy; raises with the output on failure."""
        return self.run([str(self.cli), *args, "--stack", self.stack, "--non-interactive"], check, timeout)

    def run(
        self, command: Sequence[str], check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(command),
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def init_stack(self) -> None:
        self.pulumi("stack", "init")

    def outputs(self) -> dict[str, Any]:
        return json.loads(self.pulumi("stack", "output", "--json").stdout)

    def export(self) -> dict[str, Any]:
        return json.loads(self.pulumi("stack", "export").stdout)

    def resources(self) -> list[dict[str, Any]]:
        """The stack's resources other than the stack itself and its providers."""
        deployment = self.export().get("deployment", {})
        return [
            r
            for r in deployment.get("resources") or []
            if r["type"] != "pulumi:pulumi:Stack" and not r["type"].startswith("pulumi:providers:")
        ]
