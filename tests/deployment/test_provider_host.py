"""ModelDeployment through the real provider host, against the local backend: real processes,
real azmlinfsrv, real HTTP. The inputs (with the pickled provider) come from evaluating the
local stack's program under mocks, as the engine would receive them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deployment.hashing import tree_sha256
from harness.local_service import ScoringClient
from harness.provider_host import (
    PROJECT_ROOT,
    ProviderError,
    ProviderHost,
    local_stack_inputs,
    processes_referencing,
)

pytestmark = pytest.mark.slow

# Out of 28x28 images scaled to [0, 1]: a blank image and a bright square.
BLANK = [0.0] * 784
SQUARE = [1.0 if 8 <= i // 28 < 20 and 8 <= i % 28 < 20 else 0.0 for i in range(784)]


def score(uri: str, images: list[list[float]], timeout_s: float = 30.0) -> Any:
    body = json.dumps({"data": images}).encode()
    request = urllib.request.Request(uri, data=body, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    with opener.open(request, timeout=timeout_s) as response:
        return json.loads(response.read())


@pytest.fixture
def host() -> Iterator[ProviderHost]:
    with ProviderHost.start() as running:
        running.configure()
        yield running


def _wait_dead(pid: int, timeout_s: float = 10.0) -> None:
    """Until `pid` has died (gone, or a zombie its parent has not collected yet)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.02)
    raise AssertionError(f"pid {pid} is still running {timeout_s} s after SIGKILL")


def _copy_model(trained_model_dir: Path, destination: Path) -> Path:
    shutil.copytree(trained_model_dir, destination)
    return destination


@pytest.fixture
def source_snapshot(tmp_path: Path) -> Path:
    """model_service/ as it is now: the working tree may change while a test runs."""
    snapshot = tmp_path / "source" / "model_service"
    shutil.copytree(PROJECT_ROOT / "model_service", snapshot, ignore=shutil.ignore_patterns("__pycache__"))
    return snapshot


def _inputs(model_dir: Path, state_dir: Path, source_dir: Path) -> dict[str, Any]:
    config = {"model": {"dir": str(model_dir)}, "local": {"stateDir": str(state_dir), "workers": 1}}
    inputs = local_stack_inputs(config)
    inputs.update(source_dir=str(source_dir), source_hash=tree_sha256(source_dir))
    return inputs


def test_create_score_diff_update_kill_read_delete(
    host: ProviderHost, trained_model_dir: Path, state_dir: Path, source_snapshot: Path, tmp_path: Path
):
    model_a = _copy_model(trained_model_dir, tmp_path / "a" / "model")
    news = _inputs(model_a, state_dir, source_snapshot)

    checked = host.check(news)
    assert checked.failures == []

    id_, outs = host.create(checked.inputs)
    assert outs["state"] == "Healthy"
    predictions = score(outs["scoring_uri"], [BLANK, SQUARE])
    assert len(predictions) == 2 and all(0 <= p <= 9 for p in predictions)
    assert outs["model_id"] == f"mnist-dnn:{outs['model_version']}"
    assert outs.get("primary_key") is None  # the local target issues no keys
    service_dir = state_dir / news["service_name"]
    assert service_dir.is_dir()

    # The same content at another path: no change. A changed model byte: an update in place.
    model_moved = _copy_model(model_a, tmp_path / "moved" / "model")
    assert host.diff(id_, outs, _inputs(model_moved, state_dir, source_snapshot)).changes == "none"
    model_b = _copy_model(model_a, tmp_path / "b" / "model")
    metadata = model_b / "metadata.json"
    metadata.write_text(metadata.read_text() + "\n")
    news_b = host.check(_inputs(model_b, state_dir, source_snapshot)).inputs
    diff = host.diff(id_, outs, news_b)
    assert (diff.changes, diff.replaces) == ("some", [])

    with ScoringClient(outs["scoring_uri"]) as client:
        updated = host.update(id_, outs, news_b)
    assert client.failures == []
    assert client.samples
    assert updated["scoring_uri"] == outs["scoring_uri"]
    assert updated["model_version"] == tree_sha256(model_b)[:12] != outs["model_version"]
    assert len(score(updated["scoring_uri"], [SQUARE])) == 1
    old_release = Path(outs["live"]["handle"]["release"]["directory"])
    assert not old_release.exists()

    # Out of band: the inference server is killed. Refresh reads it as gone.
    server_pid = int(updated["live"]["handle"]["release"]["process"]["pid"])
    os.killpg(server_pid, signal.SIGKILL)
    _wait_dead(server_pid)
    read_id, _ = host.read(id_, updated)
    assert read_id == ""

    host.delete(id_, updated)
    assert processes_referencing(state_dir) == []
    assert not service_dir.exists()
    host.delete(id_, updated)  # already gone is success


def test_create_with_a_broken_entry_script_leaves_nothing_and_reports_the_log(
    host: ProviderHost, trained_model_dir: Path, state_dir: Path, tmp_path: Path
):
    source = tmp_path / "broken_source"
    source.mkdir()
    (source / "score.py").write_text(
        "def init():\n    raise RuntimeError('deliberately broken entry script')\n\n"
        "def run(data):\n    return data\n"
    )
    news = _inputs(_copy_model(trained_model_dir, tmp_path / "model"), state_dir, source)

    with pytest.raises(ProviderError) as failure:
        host.create(host.check(news).inputs)

    assert "deliberately broken entry script" in failure.value.details
    assert "service log (tail)" in failure.value.details
    assert processes_referencing(state_dir) == []
    assert not (state_dir / news["service_name"]).exists()


def test_check_failures_come_back_naming_the_property(
    host: ProviderHost, tmp_path: Path, state_dir: Path, source_snapshot: Path
):
    model = tmp_path / "model"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"not a real model: check does not load it")
    news = _inputs(model, state_dir, source_snapshot)
    news["service_name"] = "Not_A_Valid_Name"
    news["settings"] = {**news["settings"], "replicas": 0}

    failures = dict(host.check(news).failures)

    assert set(failures) == {"service_name", "settings.replicas"}
    assert "'Not_A_Valid_Name'" in failures["service_name"]
    assert "≥ 1" in failures["settings.replicas"]
