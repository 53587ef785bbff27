"""The make targets the workflows call, run for real with a FAKE `pulumi` (tests/gitops/fake_pulumi.py).

`-o .venv/.installed -o pulumi-ready` tells make not to (re)build the environments or train the
model: these tests are about what the targets ask pulumi to do, not about installing.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.gitops.fake_pulumi import install, read_log

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TAGS_PATH = "aml-gpu-inference:tags.expires-on"


@pytest.fixture
def fake(tmp_path):
    """Install a fake pulumi for `scenario`; returns a function running a make target against it."""

    def run(target: str, scenario: dict, *variables: str, extra_env: dict[str, str] | None = None):
        log = tmp_path / "argv.jsonl"
        bin_dir = tmp_path / "bin"
        # The CI markers come only from extra_env: the drift annotations must not leak into other tests.
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
        env.update({**install(bin_dir, scenario, log), **(extra_env or {})})
        env["PATH"] = f"{bin_dir}:{env['PATH']}"
        result = subprocess.run(
            [
                "make",
                "--no-print-directory",
                "-o",
                ".venv/.installed",
                "-o",
                "pulumi-ready",
                target,
                *variables,
                f"PULUMI={bin_dir / 'pulumi'}",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return result, read_log(log)

    return run


def commands(log: list[list[str]], first: str) -> list[list[str]]:
    return [argv for argv in log if argv[:1] == [first]]


# --- destroy: the confirmation ---------------------------------------------------------------------


@pytest.mark.parametrize("confirm", ["", "prod", "de"])
def test_destroy_without_the_repeated_stack_name_touches_nothing(fake, confirm):
    result, log = fake("destroy", {}, "STACK=dev", f"CONFIRM={confirm}")
    assert result.returncode != 0
    assert "does not repeat STACK='dev'" in result.stderr
    assert log == []


def test_destroy_with_the_repeated_stack_name_destroys_that_stack(fake):
    result, log = fake("destroy", {"stacks": [{"name": "dev"}]}, "STACK=dev", "CONFIRM=dev")
    assert result.returncode == 0, result.stderr
    assert commands(log, "destroy") == [["destroy", "--stack", "dev", "--yes", "--non-interactive"]]


# --- refresh-check: drift fails and says what drifted -------------------------------------------------


def test_no_drift_passes(fake):
    result, log = fake("refresh-check", {"refresh": "clean"}, "STACK=dev")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dev: no drift" in result.stdout
    assert commands(log, "refresh") == [
        ["refresh", "--stack", "dev", "--yes", "--expect-no-changes", "--diff", "--non-interactive"]
    ]


def test_drift_fails_and_names_the_drifted_resource_and_property(fake, tmp_path):
    summary = tmp_path / "summary.md"
    result, _ = fake(
        "refresh-check",
        {"refresh": "drift"},
        "STACK=dev",
        extra_env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode != 0
    report = result.stdout.split("DRIFT in stack dev", 1)[1]
    assert "azure-native:resources:ResourceGroup: (update)" in report
    assert 'cost-center: "manual-edit"' in report
    assert "pulumi:pulumi:Stack" not in report
    assert "::error title=Drift in stack dev::" in result.stdout
    assert "azure-native:resources:ResourceGroup" in summary.read_text()


def test_a_failing_refresh_is_not_called_drift(fake):
    result, _ = fake("refresh-check", {"refresh": "error"}, "STACK=dev")
    assert result.returncode != 0
    assert "DRIFT" not in result.stdout
    assert "not a drift finding" in result.stderr
    assert "failed to log in" in result.stdout  # the log is shown


# --- up: dev stacks get their expiry stamped ----------------------------------------------------------


def test_a_dev_stack_without_expiry_is_stamped_today_plus_the_lifetime(fake):
    result, log = fake("stamp-expiry", {}, "STACK=dev-ana", "DEV_LIFETIME_DAYS=5")
    assert result.returncode == 0, result.stderr
    expected = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    assert [a for a in log if a[:2] == ["config", "set"]] == [
        ["config", "set", "--path", TAGS_PATH, expected, "--stack", "dev-ana"]
    ]
    assert f"stamping {expected}" in result.stdout


def test_a_dev_stack_with_expiry_keeps_it(fake):
    result, log = fake("stamp-expiry", {"config_paths": {"dev": [TAGS_PATH]}}, "STACK=dev")
    assert result.returncode == 0, result.stderr
    assert [a[:2] for a in log] == [["config", "get"]]


def test_other_stacks_are_never_stamped(fake):
    result, log = fake("stamp-expiry", {}, "STACK=prod")
    assert result.returncode == 0, result.stderr
    assert log == []


def test_up_stamps_before_it_deploys(fake):
    result, log = fake("up", {}, "STACK=dev")
    assert result.returncode == 0, result.stderr
    assert [a[:2] for a in log] == [["config", "get"], ["config", "set"], ["up", "--stack"]]
    assert log[-1] == [
        "up",
        "--stack",
        "dev",
        "--yes",
        "--diff",
        "--non-interactive",
        "--policy-pack",
        "policy",
    ]


# --- the cost guard through make and the Automation API ---------------------------------------------


def test_cost_guard_dry_run_through_make(fake, tmp_path):
    scenario = {
        "stacks": [{"name": "old", "resourceCount": 3}, {"name": "prod", "resourceCount": 3}],
        "config": {
            "old": {
                "aml-gpu-inference:tags": {
                    "value": json.dumps({"owner": "a", "expires-on": "2020-01-01"}),
                    "secret": False,
                }
            },
            "prod": {
                "aml-gpu-inference:tags": {
                    "value": json.dumps({"owner": "b", "expires-on": "2999-01-01"}),
                    "secret": False,
                }
            },
        },
    }
    report = tmp_path / "report.json"
    result, log = fake("cost-guard-dry-run", scenario, f"COST_GUARD_ARGS=--json-out {report}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(report.read_text())["to_destroy"] == ["old"]
    assert commands(log, "destroy") == []
    result, log = fake("cost-guard", scenario, "COST_GUARD_ARGS=--stack old")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [a[a.index("--stack") + 1] for a in commands(log, "destroy")] == ["old"]


# --- make cost: the estimate from the stack file, no pulumi --------------------------------------


def test_make_cost_prints_the_estimate_from_the_stack_file_without_running_pulumi(fake):
    table = json.loads((PROJECT_ROOT / "infra" / "cost" / "price_table.json").read_text())
    t4 = table["vm_hourly"]["eastus"]["Standard_NC4as_T4_v3"]
    result, log = fake("cost", {}, "STACK=dev")
    assert result.returncode == 0, result.stdout + result.stderr
    assert log == []  # the program is not run: pulumi is never called
    assert "cost estimate of dev (azure, eastus)" in result.stdout
    assert "3 × Standard_NC4as_T4_v3" in result.stdout
    assert f"price table of {t4['read_on']}" in result.stdout


def test_make_cost_names_a_missing_stack_file(fake):
    result, _ = fake("cost", {}, "STACK=nope")
    assert result.returncode == 2
    assert "Pulumi.nope.yaml: no such stack file" in result.stderr
