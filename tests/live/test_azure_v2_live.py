"""Opt-in LIVE suite for the azure-v2 target: up → score → blue/green update → destroy → nothing left.

The same prerequisites, skip rule and cost as tests/live/test_azure_live.py (whose helpers this
reuses); SKIPPED with the missing items named when they are absent, never passed.

    up        workspace, own GPU AKS, AzureML extension, Kubernetes compute, assets, endpoint,
              deployment `blue` with all traffic (Pulumi.dev-v2.yaml's settings)
    score     the how-to's sample query with the primary key
    update    a changed model (same weights, new metadata): `green` is created beside `blue`,
              traffic 10 → 100, `blue` deleted, while a client keeps scoring: no failed request
    preview   a second look changes nothing
    destroy   and the stack's resource group is gone
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.error
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_azure_live import (
    _MISSING,
    PROJECT_ROOT,
    SERVICE_PRINCIPAL,
    _ops_by_type,
    _pulumi_root,
    _resource_group_exists,
    _score,
)

DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(bool(_MISSING), reason="live Azure suite: " + "; ".join(_MISSING)),
]


def _stack_config(location: str, model_dir: Path) -> dict[str, Any]:
    config = yaml.safe_load((PROJECT_ROOT / "Pulumi.dev-v2.yaml").read_text())["config"]
    config["azure-native:location"] = location
    config["aml-gpu-inference:location"] = location
    config["aml-gpu-inference:namePrefix"] = "amlgpuv2"
    config["aml-gpu-inference:model"] = {"name": "mnist-dnn", "dir": str(model_dir)}
    return config


class _Prober(threading.Thread):
    """Scores in a loop during an update and counts failed requests."""

    def __init__(self, uri: str, key: str) -> None:
        super().__init__(daemon=True)
        self.uri, self.key = uri, key
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                _score(self.uri, self.key)
                self.ok += 1
            except (urllib.error.URLError, OSError, ValueError) as error:
                self.failures.append(repr(error))
            self.stop.wait(1.0)


def test_up_score_blue_green_destroy_leaves_nothing(tmp_path: Path):
    from pulumi import automation as auto

    model = tmp_path / "model"
    shutil.copytree(PROJECT_ROOT / "artifacts" / "model", model)
    stack_name = f"livev2{uuid.uuid4().hex[:6]}"
    stack_file = PROJECT_ROOT / f"Pulumi.{stack_name}.yaml"
    location = os.environ.get("AMLGPU_LIVE_LOCATION", "eastus")
    stack_file.write_text(yaml.safe_dump({"config": _stack_config(location, model)}))
    env = {
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_CONFIG_PASSPHRASE": "",  # throwaway stack: the state holds keys only as secrets
        "ARM_SUBSCRIPTION_ID": os.environ["AZURE_SUBSCRIPTION_ID"],
    }
    (tmp_path / "state").mkdir()
    for name, arm_name in zip(
        SERVICE_PRINCIPAL, ("ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_CLIENT_SECRET"), strict=True
    ):
        if os.environ.get(name):
            env[arm_name] = os.environ[name]
    root = _pulumi_root()
    stack = auto.create_or_select_stack(
        stack_name=stack_name,
        work_dir=str(PROJECT_ROOT),
        opts=auto.LocalWorkspaceOptions(
            env_vars=env, pulumi_command=auto.PulumiCommand(root=str(root)) if root else None
        ),
    )
    resource_group = None
    try:
        first = stack.up(on_output=print)
        outputs = {name: output.value for name, output in first.outputs.items()}
        resource_group = outputs["resource_group"]
        assert (outputs["live_colour"], outputs["serving_colour"]) == ("", "blue")
        assert first.outputs["primary_key"].secret
        predictions = _score(outputs["scoring_uri"], outputs["primary_key"])
        assert len(predictions) == 2 and all(0 <= int(p) <= 9 for p in predictions)

        # A content change (same weights): a new model version, so a new colour.
        metadata = model / "metadata.json"
        metadata.write_text(json.dumps({**json.loads(metadata.read_text()), "live_test": stack_name}))
        # preview: green is created, blue deleted (and the log line names the live colour).
        ops = _ops_by_type(stack)
        assert {"create", "delete"} <= ops.get(DEPLOYMENT, set()), ops
        prober = _Prober(outputs["scoring_uri"], outputs["primary_key"])
        prober.start()
        try:
            second = stack.up(on_output=print)
        finally:
            prober.stop.set()
            prober.join(timeout=30)
        assert second.outputs["live_colour"].value == "blue"
        assert second.outputs["serving_colour"].value == "green"
        assert prober.ok > 0 and prober.failures == [], prober.failures[:5]
        assert _score(second.outputs["scoring_uri"].value, second.outputs["primary_key"].value)

        summary = stack.preview().change_summary  # a second look changes nothing
        assert set(summary) <= {"same"}, summary
    finally:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(stack_name)
        stack_file.unlink(missing_ok=True)
    if resource_group:
        assert not _resource_group_exists(resource_group), f"{resource_group} still exists after destroy"
