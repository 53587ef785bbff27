"""`make demo` / `make destroy-local` (scripts/local_stack.py): the orchestration's steps and
failures against a double of the Automation boundary (`FakeAutomation` records what it was asked
and plays a stack). The real Automation API with the real CLI runs in tests/engine."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from scripts import local_stack
from scripts.local_stack import DemoError, Paths
from scripts.pulumi_cli import INSTALL_LINK, CliFinder


class FakeStack:
    def __init__(self, outputs: Mapping[str, Any], fail_up: str | None = None) -> None:
        self.outputs = dict(outputs)
        self.fail_up = fail_up
        self.calls: list[str] = []

    def up(self, on_output):
        self.calls.append("up")
        on_output("Updating (local)\n")
        if self.fail_up:
            raise RuntimeError(self.fail_up)
        return self.outputs

    def destroy(self, on_output):
        self.calls.append("destroy")
        on_output("Destroying (local)\n")


class FakeAutomation:
    """A stand-in for Pulumi's Automation API; the CLI search is the real `CliFinder` with its
    outside steps (PATH, `pulumi version`, the download) replaced."""

    def __init__(self, *, on_path: bool, stack: FakeStack, install_error: Exception | None = None) -> None:
        self.on_path = on_path
        self.the_stack = stack
        self.install_error = install_error
        self.installs: list[tuple[Path, str]] = []
        self.selected: list[tuple[str, Path, Any, dict[str, str]]] = []

    def finder(self, paths: Paths) -> CliFinder:
        return CliFinder(
            sdk="3.223.0",
            which=lambda name: "/usr/local/bin/pulumi" if self.on_path and name == "pulumi" else None,
            version_of=lambda _path: "v3.223.0",
            install=self.install,
            build=None,
            built_cli=paths.built_cli,
            installed_root=paths.cli_root,
        )

    def command(self, cli: Path):
        return ("cli", cli)

    def install(self, root: Path, version: str) -> Path:
        self.installs.append((root, version))
        if self.install_error:
            root.mkdir(parents=True, exist_ok=True)  # a half-finished install
            raise self.install_error
        return root / "bin" / "pulumi"

    def stack(self, name, work_dir, command, env):
        self.selected.append((name, work_dir, command, dict(env)))
        return self.the_stack


class Recorder:
    def __init__(self, returncodes: Mapping[str, int] | None = None) -> None:
        self.commands: list[list[str]] = []
        self.returncodes = dict(returncodes or {})
        self.lines: list[str] = []

    def run(self, command: Sequence[str]) -> int:
        self.commands.append(list(command))
        return next((code for module, code in self.returncodes.items() if module in command), 0)

    def log(self, line: str) -> None:
        self.lines.append(line)


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(project_root=tmp_path)


def _trained(paths: Paths) -> None:
    paths.model_dir.mkdir(parents=True)
    (paths.model_dir / "metadata.json").write_text("{}")


URI = "http://127.0.0.1:40123/score"


def test_demo_with_a_cli_on_path_deploys_queries_and_says_how_to_destroy(paths: Paths):
    _trained(paths)
    automation = FakeAutomation(on_path=True, stack=FakeStack({"scoring_uri": URI}))
    recorder = Recorder()

    local_stack.demo(automation, paths, recorder.run, recorder.log, environ={"PATH": "/usr/bin"})

    assert automation.installs == []
    ((name, work_dir, command, env),) = automation.selected
    assert (name, work_dir, command) == ("local", paths.project_root, ("cli", Path("/usr/local/bin/pulumi")))
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PULUMI_BACKEND_URL"] == f"file://{paths.project_root}/.pulumi"
    assert env["PULUMI_CONFIG_PASSPHRASE"] == ""
    assert env["PATH"].split(os.pathsep)[0] == str(paths.project_root / ".venv" / "bin")
    assert paths.backend_dir.is_dir()
    assert automation.the_stack.calls == ["up"]
    assert "Updating (local)\n" in recorder.lines  # pulumi's output streams through
    assert recorder.commands == [
        [str(paths.scoring_python), "-m", "model_tools.client", "--uri", URI]
    ]  # the model was there: no training
    assert "make destroy-local" in recorder.lines[-1]


def test_demo_trains_the_model_when_it_is_absent(paths: Paths):
    automation = FakeAutomation(on_path=True, stack=FakeStack({"scoring_uri": URI}))
    recorder = Recorder()
    local_stack.demo(automation, paths, recorder.run, recorder.log, environ={})
    train, query = recorder.commands
    assert train[1:] == ["-m", "model_tools.train", "--digits", "--out", str(paths.model_dir)]
    assert query[1:3] == ["-m", "model_tools.client"]


def test_without_a_cli_it_installs_the_sdk_version_into_the_project(paths: Paths):
    _trained(paths)
    automation = FakeAutomation(on_path=False, stack=FakeStack({"scoring_uri": URI}))
    local_stack.demo(automation, paths, Recorder().run, Recorder().log, environ={})
    assert automation.installs == [(paths.project_root / ".pulumi-cli", "3.223.0")]
    assert automation.selected[0][2] == ("cli", paths.project_root / ".pulumi-cli" / "bin" / "pulumi")


def test_a_failed_install_without_go_stops_naming_both_ways_and_leaves_nothing(paths: Paths):
    automation = FakeAutomation(
        on_path=False, stack=FakeStack({"scoring_uri": URI}), install_error=OSError("no route to host")
    )
    recorder = Recorder()
    with pytest.raises(DemoError, match="no route to host") as failure:
        local_stack.demo(automation, paths, recorder.run, recorder.log, environ={})
    assert INSTALL_LINK in str(failure.value) and "make pulumi-cli" in str(failure.value)
    assert automation.selected == [] and automation.the_stack.calls == [] and recorder.commands == []
    assert not paths.cli_root.exists()
    assert not paths.backend_dir.exists()


def test_a_failed_up_is_an_error_and_no_query_runs(paths: Paths):
    _trained(paths)
    automation = FakeAutomation(on_path=True, stack=FakeStack({}, fail_up="entry script broken"))
    recorder = Recorder()
    with pytest.raises(DemoError, match="pulumi up failed on stack 'local': entry script broken"):
        local_stack.demo(automation, paths, recorder.run, recorder.log, environ={})
    assert recorder.commands == []


def test_a_failed_sample_query_is_an_error(paths: Paths):
    _trained(paths)
    automation = FakeAutomation(on_path=True, stack=FakeStack({"scoring_uri": URI}))
    recorder = Recorder({"model_tools.client": 3})
    with pytest.raises(DemoError, match="The sample query failed"):
        local_stack.demo(automation, paths, recorder.run, recorder.log, environ={})


def test_destroy_local_destroys_the_same_stack(paths: Paths):
    automation = FakeAutomation(on_path=True, stack=FakeStack({}))
    recorder = Recorder()
    local_stack.destroy(automation, paths, recorder.log, environ={})
    assert automation.the_stack.calls == ["destroy"]
    assert automation.selected[0][0] == "local"
    assert "destroyed" in recorder.lines[-1]
