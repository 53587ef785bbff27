"""Through the real `pulumi`: bad stack config stops `preview` before anything exists, and an
`up` killed with SIGKILL in the middle of a create converges on the next run with one server."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from harness.program import stack_config
from harness.provider_host import processes_referencing
from scripts.sandbox_project import SandboxProject


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"service": {"replicas": -1}}, ["aml-gpu-inference:service.replicas = -1", "a whole number"]),
        ({"replicaz": 3}, ["aml-gpu-inference:replicaz", "unknown key", "allowed here: target"]),
        ({"model": {"dir": "artifacts/no-such-model"}}, ["model_dir", "no-such-model", "make model"]),
    ],
    ids=["negative-replicas", "unknown-key", "missing-model-dir"],
)
def test_bad_config_fails_preview_naming_the_key_with_nothing_created(
    sandbox: SandboxProject, config: dict, expected: list[str]
):
    sandbox.write_config({"target": "local", **config})
    result = sandbox.pulumi("preview", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for text in expected:
        assert text in output, output
    up = sandbox.pulumi("up", "--yes", check=False)
    assert up.returncode != 0
    assert sandbox.resources() == []
    assert not sandbox.state_dir.exists() or list(sandbox.state_dir.iterdir()) == []
    assert processes_referencing(sandbox.root) == []


def _wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_up_killed_mid_create_converges_after_cancel_and_refresh_with_one_server(
    sandbox: SandboxProject, tmp_path
):
    # What one healthy service runs, measured on a stack of its own in the same sandbox layout.
    up = subprocess.Popen(
        [str(sandbox.cli), "up", "--yes", "--stack", sandbox.stack, "--non-interactive"],
        cwd=sandbox.root,
        env=sandbox.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # The server has started (a release is waiting for health): kill the CLI, nothing else.
    _wait_for(lambda: processes_referencing(sandbox.state_dir), 120, "the inference server to start")
    os.kill(up.pid, signal.SIGKILL)
    up.wait()

    # What `pulumi` asks for, in order (docs/local-target.md): the file backend's lock of the
    # dead update, then the pending create the engine could not record.
    locked = sandbox.pulumi("up", "--yes", check=False)
    assert locked.returncode != 0 and "locked" in locked.stdout + locked.stderr
    sandbox.pulumi("cancel", "--yes")
    sandbox.pulumi("refresh", "--yes", "--clear-pending-creates")
    sandbox.pulumi("up", "--yes")

    assert sandbox.outputs()["state"] == "Healthy"
    assert len(sandbox.resources()) == 1
    # Exactly one service runs: the same number of processes as a clean create of this stack.
    running = set(processes_referencing(sandbox.state_dir))
    sandbox.pulumi("destroy", "--yes")
    assert processes_referencing(sandbox.state_dir) == []
    sandbox.pulumi("up", "--yes")
    assert len(running) == len(set(processes_referencing(sandbox.state_dir)))


def test_a_blue_green_rollout_the_pool_cannot_hold_fails_preview_naming_the_keys(sandbox: SandboxProject):
    """The v2 stack file's config with blue/green on its 3 GPUs: the engine's preview stops in
    the program, before any Azure resource (azure-native's plugin is never needed)."""
    config = {
        key.removeprefix("aml-gpu-inference:"): value
        for key, value in stack_config("dev-v2").items()
        if key.startswith("aml-gpu-inference:")
    }
    config["rollout"] = {"strategy": "blueGreen", "trafficSteps": [10, 100]}
    sandbox.write_config(config)
    result = sandbox.pulumi("preview", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for text in (
        "aml-gpu-inference:rollout.strategy = 'blueGreen'",
        "needs 6 GPUs (2 × 3 replicas × 1 GPU)",
        "the pool has 3 × Standard_NC4as_T4_v3 = 3 GPUs",
        "rollout.strategy inPlace",
        "cluster.nodeCount ≥ 6",
    ):
        assert text in output, output
    assert sandbox.resources() == []
