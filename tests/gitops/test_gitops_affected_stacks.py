"""Which stacks a pull request previews."""

from __future__ import annotations

import subprocess

import pytest

from scripts.affected_stacks import affected_stacks, changed_files


@pytest.fixture
def project(tmp_path):
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "Pulumi.local.yaml"):
        (tmp_path / name).write_text("config: {}\n")
    return tmp_path


@pytest.mark.parametrize(
    ("changed", "stacks"),
    [
        (["infra/__main__.py"], ["dev"]),
        (["infra/deployment/provider.py", "README.md"], ["dev"]),
        (["model_service/score.py"], ["dev"]),
        (["requirements.txt"], ["dev"]),
        (["Pulumi.yaml"], ["dev"]),
        (["Pulumi.prod.yaml"], ["prod"]),
        (["Pulumi.prod.yaml", "infra/config.py"], ["dev", "prod"]),
        (["Pulumi.local.yaml"], []),  # the local target is not previewed in CI
        (["Pulumi.gone.yaml"], []),  # deleted stack config: nothing to preview
        (["docs/gitops.md", "tests/gitops/test_x.py", ".github/workflows/drift.yml"], []),
        (["requirements-dev.txt", "infrastructure.md", "infra"], []),
        ([], []),
    ],
)
def test_affected_stacks(project, changed, stacks):
    assert affected_stacks(changed, root=project) == stacks


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
    (tmp_path / "Pulumi.prod.yaml").write_text("config: {}\n")
    git("add", ".")
    git("commit", "-q", "-m", "change")
    git("checkout", "-q", "main")
    (tmp_path / "later-on-main.txt").write_text("not part of the change\n")
    git("add", ".")
    git("commit", "-q", "-m", "main moves on")
    git("checkout", "-q", "change")
    assert changed_files("main", root=tmp_path) == ["Pulumi.prod.yaml"]
    assert affected_stacks(changed_files("main", root=tmp_path), root=tmp_path) == ["prod"]
