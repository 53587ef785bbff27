"""The CLI search of scripts/pulumi_cli.py: which CLI wins, in which order, and what a user is
told when there is none. PATH, `pulumi version`, the download and the build are replaced here;
tests/engine runs the real CLI the search finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.pulumi_cli import INSTALL_LINK, CliFinder, CliNotFound, is_compatible

SDK = "3.223.0"


@pytest.mark.parametrize(
    ("cli", "compatible"),
    [
        ("v3.223.0", True),
        ("v3.224.1", True),
        ("3.300.0-alpha.1", True),
        ("v3.222.9", False),
        ("v4.0.0", False),
        ("garbage", False),
    ],
)
def test_a_cli_is_compatible_when_it_is_the_sdk_major_and_not_older(cli: str, compatible: bool):
    assert is_compatible(cli, SDK) is compatible


class World:
    """What the finder sees: executables with versions, and what installing or building does."""

    def __init__(self, tmp_path: Path, *, path_cli: str | None = None, go: bool = False) -> None:
        self.versions: dict[str, str] = {}
        self.path_cli = path_cli
        self.go = go
        self.built = tmp_path / ".tools" / "bin" / "pulumi"
        self.installed_root = tmp_path / ".pulumi-cli"
        self.steps: list[str] = []
        self.install_error: Exception | None = None
        self.log: list[str] = []
        if path_cli:
            self.versions["/usr/bin/pulumi"] = path_cli

    def which(self, name: str) -> str | None:
        if name == "pulumi" and self.path_cli:
            return "/usr/bin/pulumi"
        return "/usr/bin/go" if name == "go" and self.go else None

    def version_of(self, path: Path | str) -> str | None:
        return self.versions.get(str(path))

    def install(self, root: Path, version: str) -> Path:
        self.steps.append(f"install {version}")
        root.mkdir(parents=True)
        if self.install_error:
            raise self.install_error
        return root / "bin" / "pulumi"

    def build(self) -> Path:
        self.steps.append("build")
        return self.built

    def finder(self) -> CliFinder:
        return CliFinder(
            sdk=SDK,
            which=self.which,
            version_of=self.version_of,
            install=self.install,
            build=self.build,
            built_cli=self.built,
            installed_root=self.installed_root,
        )

    def make_local(self, path: Path, version: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        self.versions[str(path)] = version


def test_a_compatible_cli_on_path_wins(tmp_path: Path):
    world = World(tmp_path, path_cli="v3.230.0")
    world.make_local(world.built, "v3.223.0")
    found = world.finder().find(world.log.append)
    assert found.path == Path("/usr/bin/pulumi") and world.steps == []


def test_an_old_cli_on_path_is_passed_over_for_the_projects_own(tmp_path: Path):
    world = World(tmp_path, path_cli="v3.100.0")
    world.make_local(world.built, "v3.223.0")
    found = world.finder().find(world.log.append)
    assert found.path == world.built and world.steps == []
    assert any("Ignoring /usr/bin/pulumi (v3.100.0)" in line for line in world.log)


def test_an_earlier_install_is_used_when_nothing_was_built(tmp_path: Path):
    world = World(tmp_path)
    world.make_local(world.installed_root / "bin" / "pulumi", "v3.223.0")
    assert world.finder().find(world.log.append).path == world.installed_root / "bin" / "pulumi"


def test_without_any_cli_it_installs_the_sdk_version_first(tmp_path: Path):
    world = World(tmp_path, go=True)
    found = world.finder().find(world.log.append)
    assert world.steps == [f"install {SDK}"] and found.how == "installed"


def test_a_failed_install_falls_back_to_the_go_build_and_leaves_no_half_install(tmp_path: Path):
    world = World(tmp_path, go=True)
    world.install_error = OSError("no route to get.pulumi.com")
    found = world.finder().find(world.log.append)
    assert world.steps == [f"install {SDK}", "build"] and found.path == world.built
    assert not world.installed_root.exists()


def test_with_no_download_and_no_go_the_error_names_both_ways(tmp_path: Path):
    world = World(tmp_path, go=False)
    world.install_error = OSError("no route to get.pulumi.com")
    with pytest.raises(CliNotFound) as failure:
        world.finder().find(world.log.append)
    message = str(failure.value)
    assert INSTALL_LINK in message and "make pulumi-cli" in message
    assert "no route to get.pulumi.com" in message and "needs `go` on PATH" in message
    assert world.steps == [f"install {SDK}"]
