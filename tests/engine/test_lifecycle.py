"""The local stack's whole life through the real `pulumi` CLI: preview, up, a real /score request,
no-change preview, a model update under load, a replace preview, drift and refresh, the
export's secrets, destroy.

A scenario on one stack, in order, as a user's stack lives (marked `scenario`): each step is a
test of its own and reports separately; after a failed step the rest are skipped, naming it
(tests/engine/conftest.py), since they would start from a state nobody meant. A step that needs
a deployed service brings the stack there first (`deployed`), so `-k` runs any one of them
alone on a fresh stack."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.local_service import ScoringClient
from harness.program import MODEL_DEPLOYMENT_TYPE
from harness.provider_host import kill_everything_under, processes_referencing
from scripts.pulumi_cli import PROJECT_ROOT
from scripts.sandbox_project import SandboxProject

pytestmark = pytest.mark.scenario

# A credential-shaped value in the engine's environment during every run: it must never reach
# the state (the provider captures no credentials; the Azure backend reads them at call time).
CANARY = f"canary-{secrets.token_hex(16)}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, new_sandbox) -> Iterator[SandboxProject]:
    project = new_sandbox(tmp_path_factory.mktemp("lifecycle") / "project")
    project.extra_env = {"AZURE_CLIENT_SECRET": CANARY}
    yield project
    kill_everything_under(project.root)


def deployed(project: SandboxProject) -> SandboxProject:
    """The stack with its service up: as the steps before left it, or after an `up` of its own."""
    if not project.resources():
        project.pulumi("up", "--yes")
    return project


def preview_steps(project: SandboxProject, *args: str) -> list[dict]:
    """`pulumi preview --json`'s steps other than the stack's own."""
    result = json.loads(project.pulumi("preview", "--json", *args).stdout)
    return [s for s in result.get("steps", []) if s.get("urn", "").split("::")[-2] != "pulumi:pulumi:Stack"]


def answers_with_the_right_digits(scoring_uri: str) -> None:
    """The how-to's sample query with our client, then the first 100 test images as a batch: the
    service serves the trained model. One random image can be one the model gets wrong, so
    correctness is judged on the batch (the client exits 1 below the accuracy)."""
    client = [str(PROJECT_ROOT / ".venv-scoring" / "bin" / "python"), "-m", "model_tools.client"]
    run = {"cwd": PROJECT_ROOT, "capture_output": True, "text": True, "timeout": 120}
    sample = subprocess.run([*client, "--uri", scoring_uri], check=True, **run)
    fields = dict(line.split(": ", 1) for line in sample.stdout.splitlines() if ": " in line)
    assert fields["prediction"] in {str(digit) for digit in range(10)}, sample.stdout
    batch = [*client, "--uri", scoring_uri, "--batch", "--limit", "100", "--min-accuracy", "0.8"]
    result = subprocess.run(batch, check=False, **run)
    assert result.returncode == 0, result.stdout + result.stderr


def changed_keys(diff_text: str) -> set[str]:
    """The property names on `~` lines of `pulumi preview --diff` output."""
    keys = set()
    for line in diff_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("~ ") and ":" in stripped:
            keys.add(stripped[2:].split(":", 1)[0].strip())
    return keys


def test_preview_of_a_fresh_stack_creates_exactly_one_model_deployment(stack: SandboxProject):
    steps = preview_steps(stack)
    assert [(s["op"], s["urn"].split("::")[-2]) for s in steps] == [("create", MODEL_DEPLOYMENT_TYPE)]
    assert stack.resources() == []  # a preview creates nothing


def test_up_creates_it_and_the_scoring_uri_answers_with_the_right_digit(stack: SandboxProject):
    stack.pulumi("up", "--yes")
    outputs = stack.outputs()
    assert outputs["state"] == "Healthy" and outputs["target"] == "local"
    answers_with_the_right_digits(outputs["scoring_uri"])


def test_an_unchanged_stack_previews_no_changes(stack: SandboxProject):
    deployed(stack)
    result = stack.pulumi("preview", "--expect-no-changes", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_model_change_is_an_update_of_that_resource_only_applied_without_a_failed_request(
    stack: SandboxProject,
):
    before = deployed(stack).outputs()
    (stack.model_dir / "assets" / "retrained.txt").write_text("a new model version\n")

    steps = preview_steps(stack)
    assert [(s["op"], s["urn"].split("::")[-2]) for s in steps] == [("update", MODEL_DEPLOYMENT_TYPE)]
    # The dynamic provider host reports only "some change"; the engine shows the changed inputs.
    changed = changed_keys(stack.pulumi("preview", "--diff").stdout)
    assert "model_hash" in changed and "model_version" in changed
    assert not changed & {"source_hash", "environment_hash", "settings", "service_name"}, changed

    with ScoringClient(before["scoring_uri"]) as client:
        stack.pulumi("up", "--yes")
        time.sleep(0.5)
    assert client.failures == [] and len(client.samples) > 0
    after = stack.outputs()
    assert after["scoring_uri"] == before["scoring_uri"]  # stable for the life of the service
    assert after["model_version"] != before["model_version"]


def test_a_changed_service_name_previews_a_replace(stack: SandboxProject):
    deployed(stack)
    stack.write_config({"target": "local", "service": {"name": "mnist-renamed"}})
    try:
        ops = {s["op"] for s in preview_steps(stack)}
    finally:
        stack.write_config({"target": "local"})
    assert ops & {"replace", "create-replacement"}, ops


def test_the_export_holds_no_credential_and_a_small_provider(stack: SandboxProject):
    deployed(stack)
    exported = stack.pulumi("stack", "export").stdout
    assert CANARY not in exported
    (deployment,) = stack.resources()
    provider = deployment["inputs"]["__provider"]
    # The pickled provider is stored as a secret; either way it stays small.
    assert len(json.dumps(provider)) < 4096
    assert "ciphertext" in provider


def test_a_service_killed_out_of_band_is_reported_gone_by_refresh_and_brought_back_by_up(
    stack: SandboxProject,
):
    deployed(stack)
    kill_everything_under(stack.state_dir)
    result = stack.pulumi("refresh", "--yes", "--json", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert stack.resources() == []
    stack.pulumi("up", "--yes")
    answers_with_the_right_digits(stack.outputs()["scoring_uri"])


def test_destroy_leaves_no_process_port_state_or_resource_and_runs_again(stack: SandboxProject):
    deployed(stack)
    port = urlsplit(stack.outputs()["scoring_uri"]).port
    stack.pulumi("destroy", "--yes")
    assert processes_referencing(stack.root) == []
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listens"
    assert not stack.state_dir.exists() or list(stack.state_dir.iterdir()) == []
    assert stack.resources() == []
    stack.pulumi("destroy", "--yes")


def test_the_cli_is_the_pinned_version(cli: Path):
    from scripts.pulumi_cli import sdk_version

    version = subprocess.run([str(cli), "version"], capture_output=True, text=True, check=True).stdout
    assert version.strip() == f"v{sdk_version()}"
    assert os.access(cli.with_name("pulumi-language-python-exec"), os.X_OK)
    assert os.access(cli.with_name("pulumi-resource-pulumi-python"), os.X_OK)
