"""Which stacks a pull request previews."""

from __future__ import annotations

import subprocess

import pytest

from scripts.affected_stacks import affected_stacks, changed_files

AZURE_STACKS = ["dev", "dev-v2", "prod"]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: aml-gpu-inference\n")
    for stack, target in (("dev", "azure"), ("dev-v2", "azure-v2"), ("laptop", "local")):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(f"config:\n  aml-gpu-inference:target: {target}\n")
    # The sandbox writes JSON stack files (JSON is YAML); quoted keys and values count too.
    (tmp_path / "Pulumi.prod.yaml").write_text('{"config": {"aml-gpu-inference:target": "azure"}}\n')
    # No target: config's default, local. A target only in a comment does not count.
    (tmp_path / "Pulumi.bare.yaml").write_text("# aml-gpu-inference:target: azure\nconfig: {}\n")
    return tmp_path


@pytest.mark.parametrize(
    ("changed", "stacks"),
    [
        # A program change previews every Azure stack, whichever Azure target it has.
        (["infra/__main__.py"], AZURE_STACKS),
        (["infra/deployment/provider.py", "README.md"], AZURE_STACKS),
        (["model_service/score.py"], AZURE_STACKS),
        (["requirements.txt"], AZURE_STACKS),
        (["Pulumi.yaml"], AZURE_STACKS),
        (["Pulumi.prod.yaml"], ["prod"]),
        (["Pulumi.dev-v2.yaml"], ["dev-v2"]),
        (["Pulumi.prod.yaml", "infra/config/stack.py"], AZURE_STACKS),
        (["Pulumi.laptop.yaml"], []),  # the local target is not previewed in CI, whatever its name
        (["Pulumi.bare.yaml"], []),  # no target set: local
        (["Pulumi.gone.yaml"], []),  # deleted stack config: nothing to preview
        (["docs/gitops.md", "tests/gitops/test_x.py", ".github/workflows/drift.yml"], []),
        (["requirements-dev.txt", "infrastructure.md", "infra"], []),
        ([], []),
    ],
)
def test_affected_stacks(project, changed, stacks):
    assert affected_stacks(changed, root=project) == stacks


def test_the_projects_own_stacks_on_a_program_change():
    # The real stack files: both Azure stacks (v1 and v2) are previewed, the local one is not.
    assert affected_stacks(["infra/__main__.py"]) == ["dev", "dev-v2"]


def test_changed_files_come_from_the_merge_base(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "change")
    (tmp_path / "Pulumi.prod.yaml").write_text("config:\n  aml-gpu-inference:target: azure\n")
    git("add", ".")
    git("commit", "-q", "-m", "change")
    git("checkout", "-q", "main")
    (tmp_path / "later-on-main.txt").write_text("not part of the change\n")
    git("add", ".")
    git("commit", "-q", "-m", "main moves on")
    git("checkout", "-q", "change")
    assert changed_files("main", root=tmp_path) == ["Pulumi.prod.yaml"]
    assert affected_stacks(changed_files("main", root=tmp_path), root=tmp_path) == ["prod"]
