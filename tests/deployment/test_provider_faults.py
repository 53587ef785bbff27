"""Fault injection through the real provider host (`python -m pulumi.dynamic`) against the local
backend: real azmlinfsrv processes, real HTTP, the `__provider` the program pickles under mocks.

Each scenario injects one fault the way it happens on a real machine (a process killed, a
directory removed by hand, a port taken, a broken release) and then drives the provider as the
engine would (`pulumi refresh` = Read, `pulumi up` = Check/Diff/Create/Update, `pulumi destroy` =
Delete) until the stack is converged: the service runs and scores, or is gone, and nothing is
orphaned: no process started from the state directory, no directory left, no port still
listening.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deployment.hashing import tree_sha256
from deployment.local.backend import HEALTH_TIMEOUT_ENV
from harness.provider_host import (
    PROJECT_ROOT,
    ProviderError,
    ProviderHost,
    local_stack_inputs,
    processes_referencing,
)

pytestmark = pytest.mark.slow

BLANK = [0.0] * 784
NEVER_HEALTHY_SCRIPT = "import time\n\ndef init():\n    time.sleep(3600)\n\ndef run(data):\n    return data\n"
BROKEN_INIT_SCRIPT = (
    "def init():\n    raise RuntimeError('deliberately broken release')\n\ndef run(data):\n    return data\n"
)


def score(uri: str, timeout_s: float = 30.0) -> list[int]:
    body = json.dumps({"data": [BLANK]}).encode()
    request = urllib.request.Request(uri, data=body, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    with opener.open(request, timeout=timeout_s) as response:
        return json.loads(response.read())


def listening(port: int) -> bool:
    """Whether anything accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def service_ports(outs: dict[str, Any]) -> set[int]:
    handle = outs["live"]["handle"]
    return {int(handle["port"]), int(handle["release"]["port"])}


def wait_until(condition: Any, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def assert_nothing_left(state_dir: Path, service_name: str, ports: set[int] | None = None) -> None:
    """No process started from `state_dir`, no service directory, none of `ports` listening."""
    assert wait_until(lambda: processes_referencing(state_dir) == []), processes_referencing(state_dir)
    assert not (state_dir / service_name).exists(), sorted((state_dir / service_name).rglob("*"))[:10]
    still = {port for port in ports or set() if listening(port)}
    assert still == set(), f"ports still listening: {still}"


def kill_service_out_of_band(outs: dict[str, Any]) -> None:
    """What `kill -9` of both process groups does: the front door and the inference server."""
    handle = outs["live"]["handle"]
    for pid in (int(handle["door"]["pid"]), int(handle["release"]["process"]["pid"])):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def host() -> Iterator[ProviderHost]:
    with ProviderHost.start() as running:
        running.configure()
        yield running


@pytest.fixture(scope="module")
def model_dir(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(shutil.copytree(trained_model_dir, tmp_path_factory.mktemp("faults") / "model"))


@pytest.fixture(scope="module")
def source_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """model_service/ as it is now: the working tree may change while the tests run."""
    snapshot = tmp_path_factory.mktemp("faults-source") / "model_service"
    shutil.copytree(PROJECT_ROOT / "model_service", snapshot, ignore=shutil.ignore_patterns("__pycache__"))
    return snapshot


@pytest.fixture(scope="module")
def base_inputs(model_dir: Path) -> dict[str, Any]:
    """The local stack's ModelDeployment inputs under mocks (paths replaced per test)."""
    return local_stack_inputs({"model": {"dir": str(model_dir)}, "local": {"workers": 1}})


def inputs_for(base: dict[str, Any], state_dir: Path, source_dir: Path) -> dict[str, Any]:
    inputs = json.loads(json.dumps(base))
    inputs["target"] = {**inputs["target"], "state_dir": str(state_dir)}
    inputs.update(source_dir=str(source_dir), source_hash=tree_sha256(source_dir))
    return inputs


def script_source(tmp_path: Path, name: str, script: str) -> Path:
    source = tmp_path / name
    source.mkdir()
    (source / "score.py").write_text(script)
    return source


def dead(pid: int) -> bool:
    """The process is gone or a zombie (killed, not yet reaped by its parent, the provider host)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2 :].split()[0] in ("Z", "X")


def refresh_then_up(
    host: ProviderHost, id_: str, outs: dict[str, Any], news: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """What `pulumi refresh` then `pulumi up` do: Read; gone -> Create; else Diff against the
    refreshed state and Update on a change. Returns the resource's id and outputs afterwards."""
    read_id, read_outs = host.read(id_, outs)
    if read_id == "":
        return up(host, news)
    checked = host.check(news, olds=read_outs)
    assert checked.failures == []
    if host.diff(read_id, read_outs, checked.inputs).changes == "none":
        return read_id, read_outs
    return read_id, host.update(read_id, read_outs, checked.inputs)


def up(host: ProviderHost, news: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`pulumi up` of a stack that has no resource yet: Check, then Create."""
    checked = host.check(news)
    assert checked.failures == []
    return host.create(checked.inputs)


# ---------------------------------------------------------------------------------------------


def test_server_killed_during_create_fails_cleanly_and_the_next_up_creates_it(
    host: ProviderHost, base_inputs: dict[str, Any], state_dir: Path, source_snapshot: Path
) -> None:
    news = inputs_for(base_inputs, state_dir, source_snapshot)
    name = news["service_name"]
    killed: list[int] = []

    def kill_release_while_it_starts() -> None:
        # Killed while it loads the model: it has started and logged, it is not healthy yet.
        started = wait_until(
            lambda: any(s.stat().st_size for s in state_dir.glob(f"{name}/releases/*/server.log")), 120
        )
        if started:
            record = json.loads(next(state_dir.glob(f"{name}/releases/*/release.json")).read_text())
            killed.append(int(record["port"]))
            os.killpg(int(record["process"]["pid"]), signal.SIGKILL)

    killer = threading.Thread(target=kill_release_while_it_starts)
    killer.start()
    with pytest.raises(ProviderError) as failure:
        up(host, news)
    killer.join()

    assert killed, "the release never appeared"
    assert "exited before it became healthy" in failure.value.details
    assert "service log (tail)" in failure.value.details
    assert_nothing_left(state_dir, name, set(killed))

    # Converged: the next `pulumi up` creates it, destroy removes it.
    id_, outs = up(host, news)
    assert len(score(outs["scoring_uri"])) == 1
    host.delete(id_, outs)
    assert_nothing_left(state_dir, name, service_ports(outs))


def test_a_server_that_never_becomes_healthy_times_out_and_is_removed(
    base_inputs: dict[str, Any], state_dir: Path, tmp_path: Path
) -> None:
    news = inputs_for(base_inputs, state_dir, script_source(tmp_path, "hangs", NEVER_HEALTHY_SCRIPT))
    with ProviderHost.start(extra_env={HEALTH_TIMEOUT_ENV: "6"}) as host:
        host.configure()
        with pytest.raises(ProviderError) as failure:
            up(host, news)
        stderr = host.stderr_text()

    assert "not healthy after 6 s" in failure.value.details
    assert "service log (tail)" in failure.value.details
    assert "Booting worker" in failure.value.details  # the tail is the server's own log
    assert_nothing_left(state_dir, news["service_name"])
    assert "Traceback" not in stderr


def test_out_of_band_deletion_then_refresh_reads_gone_and_up_recreates(
    host: ProviderHost, base_inputs: dict[str, Any], state_dir: Path, source_snapshot: Path
) -> None:
    news = inputs_for(base_inputs, state_dir, source_snapshot)
    name = news["service_name"]
    id_, outs = up(host, news)

    kill_service_out_of_band(outs)  # someone deleted the service: processes and directory
    shutil.rmtree(state_dir / name)

    assert host.read(id_, outs)[0] == ""  # refresh: gone, the engine drops it from the state
    new_id, new_outs = up(host, news)  # up: not in the state, so created again
    assert new_outs["state"] == "Healthy"
    assert len(score(new_outs["scoring_uri"])) == 1
    host.delete(new_id, new_outs)
    assert_nothing_left(state_dir, name, service_ports(outs) | service_ports(new_outs))


def test_inference_server_killed_then_refresh_and_up_serve_again(
    host: ProviderHost, base_inputs: dict[str, Any], state_dir: Path, source_snapshot: Path
) -> None:
    """The OOM killer takes the inference server; the front door survives and answers 502 saying
    so (not a hang). After refresh and up the service must serve again, and nothing of the old
    one may be left running."""
    news = inputs_for(base_inputs, state_dir, source_snapshot)
    name = news["service_name"]
    id_, outs = up(host, news)

    server_pid = int(outs["live"]["handle"]["release"]["process"]["pid"])
    os.killpg(server_pid, signal.SIGKILL)
    assert wait_until(lambda: dead(server_pid))
    started = time.monotonic()
    with pytest.raises(urllib.error.HTTPError) as refused:
        score(outs["scoring_uri"], timeout_s=10.0)
    assert refused.value.code == 502
    assert "inference server is not running" in refused.value.read().decode()
    assert time.monotonic() - started < 5.0

    new_id, new_outs = refresh_then_up(host, id_, outs, news)
    assert len(score(new_outs["scoring_uri"])) == 1
    host.delete(new_id, new_outs)
    assert_nothing_left(state_dir, name, service_ports(outs) | service_ports(new_outs))


def test_state_directory_removed_by_hand_then_refresh_up_and_destroy_converge(
    host: ProviderHost, base_inputs: dict[str, Any], state_dir: Path, source_snapshot: Path
) -> None:
    news = inputs_for(base_inputs, state_dir, source_snapshot)
    name = news["service_name"]
    id_, outs = up(host, news)

    shutil.rmtree(state_dir)  # the processes still run; their directory is gone

    new_id, new_outs = refresh_then_up(host, id_, outs, news)
    assert len(score(new_outs["scoring_uri"])) == 1  # converged: it serves again
    host.delete(new_id, new_outs)
    assert_nothing_left(state_dir, name, service_ports(outs) | service_ports(new_outs))


def test_the_recorded_port_taken_by_another_process_is_not_mistaken_for_the_service(
    host: ProviderHost, base_inputs: dict[str, Any], state_dir: Path, source_snapshot: Path
) -> None:
    """The service dies; another program starts listening on its port and answers 200 to
    everything. Refresh must not take that program for the service, up must create the service
    elsewhere, and destroy must leave the other program alone."""
    news = inputs_for(base_inputs, state_dir, source_snapshot)
    name = news["service_name"]
    id_, outs = up(host, news)
    port = int(outs["live"]["handle"]["port"])
    kill_service_out_of_band(outs)
    assert wait_until(lambda: not listening(port))

    class AlwaysOk(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "7")
            self.end_headers()
            self.wfile.write(b"Healthy")

        do_POST = do_GET

        def log_message(self, *_args: object) -> None:
            pass

    impostor = http.server.ThreadingHTTPServer(("127.0.0.1", port), AlwaysOk)
    serving = threading.Thread(target=impostor.serve_forever, daemon=True)
    serving.start()
    try:
        assert host.read(id_, outs)[0] == ""  # a live port is not a live service
        new_id, new_outs = up(host, news)
        assert int(new_outs["live"]["handle"]["port"]) != port
        assert len(score(new_outs["scoring_uri"])) == 1
        host.delete(new_id, new_outs)
        host.delete(id_, outs)  # the old record too (already gone): the impostor is not ours
        assert serving.is_alive() and listening(port)
        assert_nothing_left(state_dir, name, service_ports(new_outs))
    finally:
        impostor.shutdown()
        impostor.server_close()


def test_delete_when_the_service_is_already_gone_succeeds_and_leaves_nothing(
    host: ProviderHost, base_inputs: dict[str, Any], state_dir: Path, tmp_path: Path
) -> None:
    source = script_source(tmp_path, "echo", "def init():\n    pass\n\ndef run(data):\n    return data\n")
    news = inputs_for(base_inputs, state_dir, source)
    name = news["service_name"]
    id_, outs = up(host, news)
    kill_service_out_of_band(outs)
    shutil.rmtree(state_dir / name)

    host.delete(id_, outs)
    host.delete(id_, outs)
    assert_nothing_left(state_dir, name, service_ports(outs))


def test_an_update_whose_new_version_fails_keeps_the_old_serving_and_reports_the_logs(
    host: ProviderHost, base_inputs: dict[str, Any], state_dir: Path, source_snapshot: Path, tmp_path: Path
) -> None:
    news = inputs_for(base_inputs, state_dir, source_snapshot)
    name = news["service_name"]
    id_, outs = up(host, news)
    before = score(outs["scoring_uri"])

    broken = inputs_for(base_inputs, state_dir, script_source(tmp_path, "broken", BROKEN_INIT_SCRIPT))
    assert host.diff(id_, outs, host.check(broken).inputs).changes == "some"
    with pytest.raises(ProviderError) as failure:
        host.update(id_, outs, host.check(broken).inputs)

    assert "deliberately broken release" in failure.value.details  # the new release's log tail
    assert "previous version keeps serving" in failure.value.details
    assert score(outs["scoring_uri"]) == before
    releases = sorted(p.name for p in (state_dir / name / "releases").iterdir())
    assert releases == [Path(outs["live"]["handle"]["release"]["directory"]).name]
    read_id, read_outs = host.read(id_, outs)  # refresh after the failed update: the old release
    assert (read_id, read_outs["state"], read_outs["model_id"]) == (id_, "Healthy", outs["model_id"])

    host.delete(id_, outs)
    assert_nothing_left(state_dir, name, service_ports(outs))
