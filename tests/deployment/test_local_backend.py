"""LocalBackend directly (no provider host), with a tiny entry script so each start is quick:
a same-named service it did not create, leftovers of a stopped one, a failing update."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest
from specs import build_spec, content_fields

from deployment.backend import DeploymentFailed, LiveDeployment
from deployment.local.backend import HEALTH_TIMEOUT_ENV, LocalBackend
from deployment.local.handle import LocalHandle
from deployment.local.process import ProcessRecord
from deployment.local.release import Release
from deployment.settings import ServiceSettings
from deployment.spec import DeploymentSpec
from deployment.targets import LocalTarget
from harness.provider_host import PROJECT_ROOT, kill_everything_under, processes_referencing

ECHO_SCRIPT = """\
import json, os

def init():
    global FILES
    FILES = sorted(os.listdir(os.environ["AZUREML_MODEL_DIR"]))

def run(data):
    return {"model_files": FILES, "echo": json.loads(data)}
"""


def _spec(tmp_path: Path, state_dir: Path, script: str = ECHO_SCRIPT, name: str = "echo") -> DeploymentSpec:
    source = tmp_path / f"src-{name}-{abs(hash(script))}"
    source.mkdir(exist_ok=True)
    (source / "score.py").write_text(script)
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    (model / "weights.bin").write_bytes(b"w")
    environment = tmp_path / "environment.yml"
    environment.write_text("dependencies: []\n")
    return build_spec(
        service_name="echo-service",
        target={"state_dir": str(state_dir), "workers": 1},
        model_name="echo",
        settings=ServiceSettings(replicas=1, gpu_cores=0, auth="none"),
        **content_fields(model, source, environment),
    )


def _backend(spec: DeploymentSpec, **environ: str) -> LocalBackend:
    return LocalBackend(spec.local_target(), environ={"PATH": os.environ["PATH"], **environ})


def _echo(live: LiveDeployment) -> dict:
    request = urllib.request.Request(
        live.scoring_uri, data=b'{"x": 1}', headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_a_running_service_of_the_same_name_is_never_replaced(tmp_path: Path, state_dir: Path):
    spec = _spec(tmp_path, state_dir)
    backend = _backend(spec)
    live = backend.create(spec, lambda _: None)
    assert _echo(live) == {"model_files": ["weights.bin"], "echo": {"x": 1}}

    with pytest.raises(
        DeploymentFailed, match=r"service_name: a local service named 'echo-service' is already"
    ):
        backend.create(spec, lambda _: None)
    assert _echo(live)["echo"] == {"x": 1}  # untouched

    # Killed outside Pulumi (and refreshed away): the remains are cleared and it is created anew.
    kill_everything_under(state_dir)
    messages: list[str] = []
    again = backend.create(spec, messages.append)
    assert any("removing the remains" in message for message in messages)
    assert _echo(again)["echo"] == {"x": 1}
    backend.delete(again)
    assert processes_referencing(state_dir) == []


@pytest.mark.slow
def test_a_failing_update_keeps_the_old_version_serving(tmp_path: Path, state_dir: Path):
    spec = _spec(tmp_path, state_dir)
    backend = _backend(spec)
    live = backend.create(spec, lambda _: None)
    broken_script = "def init():\n    raise RuntimeError('no model for you')\n\ndef run(d):\n    return d\n"
    broken = _spec(tmp_path, state_dir, script=broken_script)

    with pytest.raises(DeploymentFailed, match="previous version keeps serving") as failure:
        backend.update(live, spec, broken, lambda _: None)

    assert "no model for you" in failure.value.logs
    assert _echo(live)["echo"] == {"x": 1}
    releases = list((state_dir / spec.service_name / "releases").iterdir())
    assert [r.name for r in releases] == [live.handle["release"]["release_id"]]
    backend.delete(live)


@pytest.mark.slow
def test_a_server_that_never_gets_healthy_times_out_and_is_removed(tmp_path: Path, state_dir: Path):
    spec = _spec(
        tmp_path,
        state_dir,
        script="import time\n\ndef init():\n    time.sleep(600)\n\ndef run(d):\n    return d\n",
    )
    backend = _backend(spec, **{HEALTH_TIMEOUT_ENV: "3"})
    with pytest.raises(DeploymentFailed, match="not healthy after 3 s"):
        backend.create(spec, lambda _: None)
    assert processes_referencing(state_dir) == []
    assert not (state_dir / spec.service_name).exists()


def test_a_bad_health_timeout_is_an_error_naming_the_variable(tmp_path: Path):
    spec = _spec(tmp_path, tmp_path / "state")
    with pytest.raises(
        ValueError, match=rf"{HEALTH_TIMEOUT_ENV}: 'soon' is not allowed: a number of seconds > 0"
    ):
        _backend(spec, **{HEALTH_TIMEOUT_ENV: "soon"})


def test_a_missing_scoring_interpreter_is_an_error_naming_the_field(tmp_path: Path):
    spec = _spec(tmp_path, tmp_path / "state")
    backend = LocalBackend(LocalTarget(python=str(tmp_path / "no-python"), state_dir=str(tmp_path / "state")))
    with pytest.raises(DeploymentFailed, match=r"target.python: '.*no-python' does not exist"):
        backend.create(spec, lambda _: None)
    assert not (tmp_path / "state" / spec.service_name).exists()


def test_defaults_are_inside_the_project():
    backend = LocalBackend(LocalTarget(), environ={})
    assert backend.state_dir == PROJECT_ROOT / ".state" / "local-deployments"
    assert backend.python == PROJECT_ROOT / ".venv-scoring" / "bin" / "python"
    assert backend.workers >= 1


def test_a_handle_from_before_the_front_door_held_the_port_is_refused_by_name():
    old_style = {"service_dir": "/x", "port": 1, "router": {"pid": 1, "start_ticks": 1}, "release": {}}
    refusal = r"handle: door, release missing; .*`pulumi destroy`, then `pulumi up`"
    with pytest.raises(ValueError, match=refusal):
        LocalHandle.from_dict(old_style)


def test_a_handle_round_trips_through_its_dict(tmp_path: Path):
    release = Release("v1-abc", tmp_path / "releases" / "v1-abc", 4242, ProcessRecord(10, 20))
    handle = LocalHandle(tmp_path, 5151, ProcessRecord(11, 21), release)
    assert LocalHandle.from_dict(json.loads(json.dumps(handle.to_dict()))) == handle
