"""Fixtures of the real-engine suite: the project's own `pulumi` (make pulumi-cli) on throwaway
copies of the project (scripts/sandbox_project.py), each with its own file backend and state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.provider_host import kill_everything_under
from harness.scenario import pytest_runtest_makereport, pytest_runtest_setup  # noqa: F401  (the hooks)
from scripts.pulumi_cli import BUILT_CLI, cli_version, is_compatible, sdk_version
from scripts.sandbox_project import SandboxProject

SandboxFactory = Callable[[Path], SandboxProject]


@pytest.fixture(scope="session")
def cli() -> Path:
    """The CLI `make test` builds first. Missing is a failure, not a skip: this suite is the only
    place the program meets the real engine."""
    version = cli_version(BUILT_CLI) if BUILT_CLI.exists() else None
    assert version, f"{BUILT_CLI} is missing or does not run: `make pulumi-cli` builds it"
    assert is_compatible(version, sdk_version()), f"{BUILT_CLI} is {version}, the SDK {sdk_version()}"
    return BUILT_CLI


@pytest.fixture(scope="session")
def new_sandbox(cli: Path, trained_model_dir: Path) -> Iterator[SandboxFactory]:
    """Makes a copy of the project at a path, with its `local` stack initialised; whatever still
    runs from any of them at the end of the session is killed."""
    made: list[SandboxProject] = []

    def make(dest: Path) -> SandboxProject:
        project = SandboxProject.create(dest, cli, trained_model_dir)
        project.init_stack()
        made.append(project)
        return project

    yield make
    for project in made:
        kill_everything_under(project.root)


@pytest.fixture
def sandbox(tmp_path: Path, new_sandbox: SandboxFactory) -> Iterator[SandboxProject]:
    """A fresh stack in a fresh copy; whatever still runs from it afterwards is killed."""
    project = new_sandbox(tmp_path / "project")
    yield project
    kill_everything_under(project.root)
