"""ModelDeployment under `pulumi.runtime.set_mocks`: the inputs the program hands the engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import pulumi
import pytest

from deployment.provider import SECRET_OUTPUTS
from deployment.resource import ModelDeployment, ModelDeploymentArgs
from deployment.settings import ServiceSettings
from deployment.targets import LocalTarget
from harness.program import MODEL_DEPLOYMENT_TYPE

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class _EchoMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.registered.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, _args: pulumi.runtime.MockCallArgs) -> dict:
        return {}


@pytest.fixture
def mocks() -> _EchoMocks:
    mocks = _EchoMocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    return mocks


def _model(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    (model / "variables").mkdir(parents=True)
    (model / "saved_model.pb").write_bytes(b"graph")
    (model / "variables" / "variables.index").write_bytes(b"index")
    return model


def _args(tmp_path: Path, **overrides: object) -> ModelDeploymentArgs:
    source = tmp_path / "source"
    source.mkdir(exist_ok=True)
    (source / "score.py").write_text("def init(): pass\ndef run(data): return data\n")
    env = tmp_path / "environment.yml"
    env.write_text("dependencies: [python=3.11]\n")
    values: dict[str, object] = {
        "service_name": "mnist-local",
        "target": LocalTarget(),
        "settings": ServiceSettings(replicas=1, gpu_cores=0, auth="none"),
        "model_name": "digits-under-test",
        "model_dir": str(_model(tmp_path)),
        "source_dir": str(source),
        "environment_file": str(env),
    }
    values.update(overrides)
    return ModelDeploymentArgs(**values)  # type: ignore[arg-type]


@pulumi.runtime.test
def test_the_resource_registers_a_readable_type_with_content_hashes(mocks: _EchoMocks, tmp_path: Path):
    deployment = ModelDeployment("mnist", _args(tmp_path))

    def check(_: object) -> None:
        (registered,) = mocks.registered
        assert registered.typ == MODEL_DEPLOYMENT_TYPE  # in every URN of users' state: never changes
        inputs = registered.inputs
        assert inputs["backend"] == "local"
        assert inputs["model_name"] == "digits-under-test"
        assert len(inputs["model_hash"]) == 64
        assert inputs["model_version"] == inputs["model_hash"][:12]
        assert inputs["settings"]["replicas"] == 1
        assert "__provider" in inputs

    return deployment.urn.apply(check)


def test_the_same_content_elsewhere_gives_the_same_hashes(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _args(tmp_path / "a").to_spec()
    second = _args(tmp_path / "b").to_spec()
    assert (first.model_hash, first.source_hash, first.environment_hash) == (
        second.model_hash,
        second.source_hash,
        second.environment_hash,
    )
    assert first.model_dir != second.model_dir


def test_the_model_name_has_no_default_of_its_own(tmp_path: Path):
    # The default model name is config's; a second default here would silently diverge from it.
    values = {name: value for name, value in vars(_args(tmp_path)).items() if name != "model_name"}
    with pytest.raises(TypeError, match="model_name"):
        ModelDeploymentArgs(**values)


def test_a_missing_model_directory_is_an_error_naming_the_field(tmp_path: Path):
    args = _args(tmp_path)
    shutil.rmtree(args.model_dir)
    with pytest.raises(ValueError, match=r"ModelDeploymentArgs\.model_dir: .* make model"):
        args.to_spec()


def test_a_relative_path_is_an_error_naming_the_field(tmp_path: Path):
    with pytest.raises(ValueError, match=r"ModelDeploymentArgs\.source_dir: 'model_service' .* absolute"):
        _args(tmp_path, source_dir="model_service").to_spec()


class _RecordingMonitor(pulumi.runtime.mocks.MockMonitor):
    """The SDK's mock monitor, keeping each RegisterResource request (with its options)."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.requests: list = []

    def RegisterResource(self, request):
        self.requests.append(request)
        return super().RegisterResource(request)


@pulumi.runtime.test
def test_keys_are_requested_as_secret_outputs(tmp_path: Path):
    mocks = _EchoMocks()
    monitor = _RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, preview=False, monitor=monitor)
    deployment = ModelDeployment("mnist", _args(tmp_path))

    def check(_: object) -> None:
        (request,) = [r for r in monitor.requests if r.type.endswith(":ModelDeployment")]
        assert set(request.additionalSecretOutputs) == set(SECRET_OUTPUTS)

    return deployment.urn.apply(check)
