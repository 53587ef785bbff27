"""Stacks deployed before `infra/deployment/` became subpackages still refresh and destroy.

The SDK pickles each dynamic provider by reference (module path and class name) into every
resource's `__provider`; the provider host imports that module again for every operation on the
resource, long after the program that wrote it changed. data/states_a0f0cf5.json holds the state
of each dynamic resource as the code of commit a0f0cf5 (the flat layout) wrote it: the pickles
exactly as the SDK serialized them (the program evaluated under mocks), and the outputs the
provider returned (data/README.md says how). Here they are deserialized the way the host does
it (as `pulumi.dynamic.__main__.get_provider` does, or the real host over gRPC with `infra/` as its
working directory and no PYTHONPATH) and asked for a refresh (`read`) and a destroy (`delete`).
"""

from __future__ import annotations

import base64
import json
import pickletools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dill
import pytest
import requests
from fakes.azureml_sdk import STATE_FILE_VARIABLE, FakeAzureMl, write_state_file
from fakes.fake_sdk_provider_host import FAKE_SDK_HOST
from pulumi.runtime._serialization import _deserialize

from deployment.arm.compute_detach import ARM
from deployment.spec import OWNER_TAG
from harness.program import DETACHMENT_TYPE, MODEL_DEPLOYMENT_TYPE, TRAFFIC_DRAIN_TYPE
from harness.provider_host import ProviderHost

DATA = Path(__file__).parent / "data" / "states_a0f0cf5.json"
STATE_DIR_PLACEHOLDER = "/@STATE_DIR@"  # the local target's state dir when the file was written
# The modules the old pickles name: they must stay importable at these paths, forever.
PICKLED = {
    MODEL_DEPLOYMENT_TYPE: ("deployment.provider", "ModelDeploymentProvider"),
    DETACHMENT_TYPE: ("deployment.detach_provider", "ComputeDetachmentProvider"),
    TRAFFIC_DRAIN_TYPE: ("deployment.drain_provider", "TrafficDrainProvider"),
}
# The mocks' endpoint id is not an ARM path; a real state holds one.
ENDPOINT_ID = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/"
    "Microsoft.MachineLearningServices/workspaces/mlw/onlineEndpoints/aks-dnn-mnist-192f6f"
)


def _states(state_dir: Path | None = None) -> list[dict[str, Any]]:
    text = DATA.read_text()
    if state_dir is not None:
        text = text.replace(STATE_DIR_PLACEHOLDER, str(state_dir))
    return list(json.loads(text)["states"])


def _state(stack: str, type_: str, state_dir: Path | None = None) -> dict[str, Any]:
    (found,) = [s for s in _states(state_dir) if s["stack"] == stack and s["type"] == type_]
    return found


def pickled_class(provider: str) -> tuple[str, str]:
    """(module, class) that a `__provider` string references, read from its opcodes."""
    strings = [arg for op, arg, _ in pickletools.genops(base64.b64decode(provider)) if isinstance(arg, str)]
    module, name = strings[:2]
    return module, name


def test_every_old_pickle_names_one_of_the_kept_modules():
    """If a provider pickled a module by another path, that path would need an alias module."""
    states = _states()
    assert {s["type"] for s in states} == set(PICKLED)
    for state in states:
        assert pickled_class(state["outputs"]["__provider"]) == PICKLED[state["type"]], state["stack"]


@pytest.fixture
def host() -> Iterator[ProviderHost]:
    with ProviderHost.start() as running:
        running.configure()
        yield running


@pytest.mark.slow
def test_an_old_local_state_refreshes_and_destroys_through_the_host(host: ProviderHost, tmp_path: Path):
    state = _state("local", MODEL_DEPLOYMENT_TYPE, tmp_path)
    outputs = state["outputs"]
    service_dir = Path(outputs["live"]["handle"]["service_dir"])
    (service_dir / "releases" / "r1").mkdir(parents=True)

    read_id, _ = host.read(state["id"], outputs)
    assert read_id == ""  # its processes are not running: refresh reads it as gone

    host.delete(state["id"], outputs)
    assert not service_dir.exists()


@pytest.mark.slow
def test_the_old_step_states_refresh_through_the_host(host: ProviderHost):
    """The detach and drain providers import from `infra/` alone (their deletes call ARM: below)."""
    for state in _states():
        if state["type"] != MODEL_DEPLOYMENT_TYPE:
            read_id, read_outputs = host.read(state["id"], state["outputs"])
            assert (read_id, read_outputs) == (state["id"], state["outputs"]), state["stack"]


@pytest.mark.slow
def test_an_old_azure_state_refreshes_and_destroys_through_the_host(tmp_path: Path):
    state = _state("dev", MODEL_DEPLOYMENT_TYPE)
    outputs = state["outputs"]
    handle = outputs["live"]["handle"]
    fake_file = write_state_file(tmp_path / "fake-azureml.json", handle)
    fake = FakeAzureMl(state_file=fake_file)
    owner_tags = {OWNER_TAG: handle["owner"], state["deployment_id_tag"]: handle["deployment_id"]}
    fake.add_foreign_service(state["id"], tags=owner_tags)  # the service that old `up` created

    with ProviderHost.start(extra_env={STATE_FILE_VARIABLE: str(fake_file)}, program=FAKE_SDK_HOST) as host:
        host.configure()
        read_id, read_outputs = host.read(state["id"], outputs)
        assert (read_id, read_outputs["state"]) == (state["id"], "Healthy")
        host.delete(state["id"], outputs)

    assert fake.state["services"] == {}


@pytest.fixture
def arm_at(monkeypatch: pytest.MonkeyPatch, azure: tuple[Any, str]) -> Any:
    """Every request to ARM goes to the fake ARM server instead, with a fake token."""
    fake, base = azure
    send = requests.sessions.Session.request

    def to_fake(self: requests.Session, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return send(self, method, url.replace(ARM, base, 1), *args, **kwargs)

    monkeypatch.setattr(requests.sessions.Session, "request", to_fake)
    return fake


def _provider_of(outputs: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The provider deserialized as the host's `get_provider` does it (pulumi/dynamic/__main__.py,
    which can't be imported: importing it starts the host), with its module's credentials faked."""
    provider = _deserialize(lambda: dill.loads(base64.b64decode(outputs["__provider"])))
    module = __import__(type(provider).__module__, fromlist=["arm_headers"])
    monkeypatch.setattr(module, "arm_headers", lambda _environ: {"Authorization": "Bearer fake"})
    return provider


def test_an_old_compute_detachment_refreshes_and_destroys(arm_at: Any, monkeypatch: pytest.MonkeyPatch):
    for stack in ("dev", "dev-v2"):
        state = _state(stack, DETACHMENT_TYPE)
        provider = _provider_of(state["outputs"], monkeypatch)
        assert provider.read(state["id"], state["outputs"]).outs == state["outputs"]

    outputs = _state("dev-v2", DETACHMENT_TYPE)["outputs"]  # dev's would also clear a real cluster
    arm_at.answer("DELETE", outputs["compute_id"], (200, {}, None))
    _provider_of(outputs, monkeypatch).delete(outputs["compute_id"], outputs)
    (request,) = arm_at.requests
    assert request[0] == "DELETE" and "underlyingResourceAction=Detach" in request[1]


def test_an_old_traffic_drain_refreshes_and_destroys(arm_at: Any, monkeypatch: pytest.MonkeyPatch):
    state = _state("dev-v2", TRAFFIC_DRAIN_TYPE)
    outputs = {**state["outputs"], "endpoint_id": ENDPOINT_ID}
    provider = _provider_of(outputs, monkeypatch)
    assert provider.read(ENDPOINT_ID, outputs).outs == outputs

    provider.delete(ENDPOINT_ID, outputs)  # the fake has no such endpoint: nothing to drain
    assert [(method, path.partition("?")[0]) for method, path, _ in arm_at.requests] == [("GET", ENDPOINT_ID)]
