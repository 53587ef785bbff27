"""The policy pack, `make demo`'s Automation API and the GitOps make targets, each through the
real `pulumi` on a throwaway local stack."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness.provider_host import processes_referencing
from scripts import local_stack
from scripts.sandbox_project import SandboxProject


def test_the_policy_pack_passes_the_local_stack_and_reports_a_violation_of_it(sandbox: SandboxProject):
    passed = sandbox.pulumi("preview", "--policy-pack", "policy", check=False)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "aml-gpu-inference@v" in passed.stdout

    sandbox.write_config({"target": "local", "service": {"authEnabled": False}})
    refused = sandbox.pulumi("preview", "--policy-pack", "policy", check=False)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "model-service-auth" in output and "settings.auth 'none' is not allowed" in output
    assert sandbox.resources() == []


def test_make_demo_through_the_automation_api_deploys_queries_and_destroys(sandbox: SandboxProject):
    paths = local_stack.Paths(project_root=sandbox.root)
    lines: list[str] = []
    env = sandbox.env()

    def run(command):
        return subprocess.run(list(command), cwd=sandbox.root, env=env, check=False).returncode

    local_stack.demo(local_stack.PulumiAutomation(), paths, run, lines.append, environ=env)
    assert any(line.startswith("Pulumi CLI: ") for line in lines)
    assert any("Updating (local)" in line for line in lines)  # the engine's own progress
    scoring_uri = sandbox.outputs()["scoring_uri"]
    assert f"The model is served at {scoring_uri}" in "\n".join(lines)

    local_stack.destroy(local_stack.PulumiAutomation(), paths, lines.append, environ=env)
    assert sandbox.resources() == []
    assert processes_referencing(sandbox.state_dir) == []


def _make(sandbox: SandboxProject, *args: str) -> subprocess.CompletedProcess[str]:
    # The sandbox's virtualenvs are links to the project's: never rebuilt from the copy's pins.
    keep = ["-o", ".venv/.installed", "-o", ".venv-scoring/.installed"]
    return sandbox.run(["make", "--no-print-directory", *keep, *args, f"PULUMI={sandbox.cli}"], check=False)


def test_gitops_targets_preview_refresh_check_and_cost_guard_on_a_local_stack(sandbox: SandboxProject):
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    sandbox.write_config({"target": "local", "tags": {"owner": "ci", "expires-on": yesterday}})

    preview = _make(sandbox, "preview", "STACK=local")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "Policy Packs run:" in preview.stdout and "aml-gpu-inference" in preview.stdout

    sandbox.pulumi("up", "--yes")
    drift_free = _make(sandbox, "refresh-check", "STACK=local")
    assert drift_free.returncode == 0 and "local: no drift" in drift_free.stdout, drift_free.stdout

    report = sandbox.root / "guard.json"
    dry = _make(sandbox, "cost-guard-dry-run", f"COST_GUARD_ARGS=--json-out {report}")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert len(sandbox.resources()) == 1  # a dry run destroys nothing
    assert "local" in json.loads(report.read_text())["to_destroy"]

    guard = _make(sandbox, "cost-guard")
    assert guard.returncode == 0, guard.stdout + guard.stderr
    assert sandbox.resources() == []
    assert processes_referencing(sandbox.state_dir) == []


def test_refresh_check_names_the_drift_when_the_service_was_killed(sandbox: SandboxProject):
    from harness.provider_host import kill_everything_under

    sandbox.pulumi("up", "--yes")
    kill_everything_under(sandbox.state_dir)
    drift = _make(sandbox, "refresh-check", "STACK=local")
    assert drift.returncode != 0
    assert "DRIFT in stack local" in drift.stdout and "ModelDeployment" in drift.stdout


def test_the_sandbox_never_touches_the_projects_own_state(sandbox: SandboxProject):
    project_root = Path(__file__).resolve().parents[2]
    assert sandbox.root != project_root
    assert f"file://{sandbox.root}/.pulumi" == sandbox.env()["PULUMI_BACKEND_URL"]
