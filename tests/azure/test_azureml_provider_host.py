"""The Azure backend through the REAL provider host (`python -m pulumi.dynamic`, cwd infra/), with
the FAKE azureml-core (Azure is unreachable here): the host is started through
tests/fakes/fake_sdk_provider_host.py (the real host, the fake in place of azureml-core), and the
fake workspace lives in the JSON file AMLGPU_FAKE_AZUREML_STATE names, so this test sets scenarios
and checks what the pickled provider did from outside the host.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure_cases import CONDA_FILE, DEV_SETTINGS, assert_no_secret
from fakes.azureml_sdk import STATE_FILE_VARIABLE, FakeAzureMl, write_state_file
from fakes.fake_sdk_provider_host import FAKE_SDK_HOST
from specs import build_spec, content_fields

from harness.provider_host import ProviderError, ProviderHost, local_stack_inputs

pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[2]

TARGET = {
    "subscription_id": "00000000-0000-4000-8000-000000000001",
    "resource_group": "rg-amlgpu-dev",
    "workspace_name": "mlw-amlgpu-dev",
    "compute_name": "gpu-aks",
}


@pytest.fixture
def fake_file(tmp_path: Path) -> Path:
    return write_state_file(tmp_path / "fake-azureml.json", TARGET)


@pytest.fixture
def host(fake_file: Path) -> Iterator[ProviderHost]:
    extra_env = {STATE_FILE_VARIABLE: str(fake_file)}
    with ProviderHost.start(extra_env=extra_env, program=FAKE_SDK_HOST) as running:
        running.configure()
        yield running


def _azure_inputs(tmp_path: Path) -> dict[str, Any]:
    """Inputs of an Azure ModelDeployment: the provider exactly as the program pickles it
    (`__provider` from evaluating the program under mocks), the spec as `to_inputs()` makes it."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"model bytes: the fake uploads nothing")
    source = tmp_path / "model_service"
    source.mkdir()
    (source / "score.py").write_text("def init():\n    pass\n\n\ndef run(raw):\n    return []\n")
    (source / "environment.yml").write_text(CONDA_FILE)
    spec = build_spec(
        backend="azureml",
        target=dict(TARGET),
        settings=DEV_SETTINGS,
        tags={"stack": "dev"},
        **content_fields(model, source, source / "environment.yml"),
    )
    provider = local_stack_inputs({"model": {"dir": str(model)}})["__provider"]
    return {**spec.to_inputs(), "__provider": provider}


def test_create_read_diff_delete_through_the_provider_host(
    host: ProviderHost, fake_file: Path, tmp_path: Path
):
    fake = FakeAzureMl(state_file=fake_file)
    news = _azure_inputs(tmp_path)

    checked = host.check(news)
    assert checked.failures == []
    id_, outs = host.create(checked.inputs)

    assert id_ == "aks-dnn-mnist"
    assert outs["state"] == "Healthy"
    assert outs["scoring_uri"].endswith("/api/v1/service/aks-dnn-mnist/score")
    assert outs["model_id"] == "mnist-dnn:1"
    assert outs["primary_key"] == "fake-primary-key-aks-dnn-mnist"
    service = fake.state["services"]["aks-dnn-mnist"]
    assert service["settings"]["num_replicas"] == 3 and service["settings"]["gpu_cores"] == 1
    assert service["compute_name"] == "gpu-aks"

    assert host.diff(id_, outs, checked.inputs).changes == "none"
    read_id, read_outs = host.read(id_, outs)
    assert read_id == id_
    assert host.diff(read_id, read_outs, checked.inputs).changes == "none"  # no drift after a read

    fake.edit(lambda state: state["services"]["aks-dnn-mnist"]["settings"].update(num_replicas=1))
    _, drifted = host.read(id_, outs)
    assert drifted["settings"]["replicas"] == 1
    assert host.diff(id_, drifted, checked.inputs).changes == "some"

    scaled = host.check({**news, "settings": {**news["settings"], "replicas": 2}}).inputs
    assert host.diff(id_, outs, scaled).changes == "some"
    outs = host.update(id_, outs, scaled)
    assert fake.state["services"]["aks-dnn-mnist"]["updates"] == [["num_replicas"]]
    assert outs["state"] == "Healthy" and outs["settings"]["replicas"] == 2

    host.delete(id_, outs)
    assert fake.state["services"] == {}
    host.delete(id_, outs)  # already gone is success
    assert host.read(id_, outs)[0] == ""
    assert len(fake.state["models"]) == 1


def test_a_failed_create_through_the_host_deletes_the_service_and_reports_the_logs(
    host: ProviderHost, fake_file: Path, tmp_path: Path
):
    fake = FakeAzureMl(state_file=fake_file)
    fake.set_scenario(deploy_outcome="Unhealthy", logs="Traceback ...\nImportError: libcudnn.so.9")
    news = _azure_inputs(tmp_path)

    with pytest.raises(ProviderError) as failure:
        host.create(host.check(news).inputs)

    assert "ImportError: libcudnn.so.9" in failure.value.details
    assert "service log (tail)" in failure.value.details
    assert fake.state["services"] == {}
    assert fake.state["deleted_services"] == ["aks-dnn-mnist"]
    assert_no_secret("fake-primary-key-aks-dnn-mnist", failure.value.details)


def test_the_dev_stack_program_deploys_through_the_host(tmp_path: Path):
    """The inputs exactly as `infra/__main__.py` produces them for the dev stack (under mocks),
    deployed by the pickled provider into a fake workspace at the program's coordinates."""
    if not (PROJECT_ROOT / "model_service" / "environment.yml").exists():
        pytest.skip("model_service/environment.yml is not written yet: the dev stack's program needs it")
    model = tmp_path / "model"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"model bytes: the fake uploads nothing")
    news = local_stack_inputs({"model": {"name": "mnist-dnn", "dir": str(model)}}, stack="dev")
    target = news["target"]
    assert news["backend"] == "azureml"
    state_file = write_state_file(tmp_path / "fake-azureml.json", target)
    fake = FakeAzureMl(state_file=state_file)
    extra_env = {STATE_FILE_VARIABLE: str(state_file)}

    with ProviderHost.start(extra_env=extra_env, program=FAKE_SDK_HOST) as host:
        host.configure()
        checked = host.check(news)
        assert checked.failures == []
        id_, outs = host.create(checked.inputs)
        assert outs["state"] == "Healthy"
        service = fake.state["services"][id_]
        assert service["settings"]["num_replicas"] == 3 and service["settings"]["gpu_cores"] == 1
        assert service["environment"]["base_image"].startswith("mcr.microsoft.com/azureml/")
        host.delete(id_, outs)

    assert fake.state["services"] == {}
