"""The GPU scoring environment: a virtualenv built from scripts/gpu_check/requirements-gpu.txt.

Built with pip from PyPI (the only index the check assumes), into `.venv-gpu` by default, and
reused while the pins and the interpreter are the ones it was built from (a stamp file holds
their digest). Only a directory this module made, or none, is ever (re)built: pointing `--venv`
at another environment without `--no-build` stops with a message rather than wiping it.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

STAMP = ".gpu-check-installed"
PIP_OPTIONS = ("--disable-pip-version-check", "--no-input", "--progress-bar", "off")


class EnvironmentBuildError(RuntimeError):
    """The environment cannot be built or used; the message names what is missing."""


@dataclass(frozen=True)
class BuiltEnvironment:
    venv: Path
    python: Path
    built: bool  # False: reused or given as is (--no-build)
    seconds: float


def requirements_digest(requirements: Path, builder: str) -> str:
    """A digest of the requirements (and every file they include with -r) and the interpreter."""
    digest = hashlib.sha256(builder.encode())
    pending = [requirements]
    while pending:
        path = pending.pop()
        text = path.read_text()
        digest.update(path.name.encode() + b"\0" + text.encode())
        pending += [path.parent / line[3:].strip() for line in text.splitlines() if line.startswith("-r ")]
    return digest.hexdigest()


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_environment(
    venv: Path, requirements: Path, *, build: bool, builder: str = sys.executable
) -> BuiltEnvironment:
    """The environment at `venv`: used as is without `build`, else built (or reused) from
    `requirements` with the interpreter `builder`. pip's output goes to stderr."""
    began = time.monotonic()
    python = venv_python(venv)
    if not build:
        if not python.exists():
            raise EnvironmentBuildError(
                f"--no-build: {python} does not exist (build it, or drop --no-build to build {venv})"
            )
        return BuiltEnvironment(venv, python, False, time.monotonic() - began)
    if not requirements.is_file():
        raise EnvironmentBuildError(f"{requirements} does not exist: it holds the GPU pins")
    digest = requirements_digest(requirements, builder)
    stamp = venv / STAMP
    if stamp.exists() and stamp.read_text().strip() == digest and python.exists():
        return BuiltEnvironment(venv, python, False, time.monotonic() - began)
    if venv.exists() and not stamp.exists():
        raise EnvironmentBuildError(
            f"{venv} exists and was not built by the GPU check: pass --no-build to use it as is, "
            "or another --venv"
        )
    shutil.rmtree(venv, ignore_errors=True)
    # Claimed before anything can fail, so a build stopped half-way is ours to redo next time.
    venv.mkdir(parents=True)
    stamp.write_text("building\n")
    # Ignored by git and by ruff, wherever the venv is (what `python -m venv` does itself from 3.13).
    (venv / ".gitignore").write_text("*\n")
    _step(
        [builder, "-m", "venv", str(venv)],
        f"creating the virtualenv {venv} with {builder}",
        hint="on Debian and Ubuntu the venv module is the python3-venv package",
    )
    _step(
        [str(python), "-m", "pip", "install", *PIP_OPTIONS, "-r", str(requirements)],
        f"pip install -r {requirements} (the GPU pins, from PyPI)",
    )
    stamp.write_text(digest + "\n")
    return BuiltEnvironment(venv, python, True, time.monotonic() - began)


def _step(argv: list[str], what: str, hint: str = "") -> None:
    print(f"gpu-check: {what}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(argv, stdout=sys.stderr, stderr=sys.stderr, check=False)
    except OSError as error:
        raise EnvironmentBuildError(f"{what}: cannot run {argv[0]}: {error}") from error
    if done.returncode != 0:
        why = f"{what} failed with exit status {done.returncode} (its output is above)"
        raise EnvironmentBuildError(f"{why}; {hint}" if hint else why)
