"""AzureMlBackend against autospecced azureml-core classes (the FAKE SDK: Azure is unreachable).

Every SDK call goes through `create_autospec` of the real class, so a wrong argument name fails
here as it would against Azure; deploy_configuration, Environment and InferenceConfig are the
real (offline) azureml-core code.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest
from azure_cases import DEV_SETTINGS, SP_ENVIRON, WORKSPACE, Progress, assert_no_secret
from fakes.azureml_sdk import FakeAzureMl

from deployment.azure_common.environment import GPU_BASE_IMAGE
from deployment.azureml.backend import DEPLOYMENT_ID_TAG, WAIT_TIMEOUT_VARIABLE, AzureMlBackend
from deployment.azureml.service import MODEL_HASH_TAG
from deployment.backend import DeploymentFailed
from deployment.settings import Autoscale
from deployment.spec import OWNER_TAG


def test_create_opens_the_targets_workspace_with_the_resolved_credential(backend, fake, make_spec, progress):
    backend.create(make_spec(), progress)

    (call,) = fake.sdk.Workspace.get.call_args_list
    assert (call.kwargs["subscription_id"], call.kwargs["resource_group"], call.kwargs["name"]) == (
        WORKSPACE["subscription_id"],
        WORKSPACE["resource_group"],
        WORKSPACE["workspace_name"],
    )
    fake.sdk.ServicePrincipalAuthentication.assert_called_once()  # SP_ENVIRON's principal
    call.kwargs["auth"].get_authentication_header.assert_called_once_with()  # proven before use


def test_create_sends_the_how_tos_deploy_configuration(backend, fake, make_spec, progress):
    backend.create(make_spec(), progress)

    sent = dict(fake.sdk.AksWebservice.deploy_configuration.call_args.kwargs)
    sent.pop("tags")
    assert sent == {
        "autoscale_enabled": False,
        "num_replicas": 3,
        "cpu_cores": 2.0,
        "memory_gb": 4.0,
        "gpu_cores": 1,
        "auth_enabled": True,
        "token_auth_enabled": False,
        "scoring_timeout_ms": 60_000,
        "replica_max_concurrent_requests": 1,
    }


def test_create_tags_the_service_with_our_owner_deployment_id_and_hashes(backend, fake, make_spec, progress):
    spec = make_spec()
    live = backend.create(spec, progress)

    tags = fake.sdk.AksWebservice.deploy_configuration.call_args.kwargs["tags"]
    assert tags["stack"] == "dev"
    assert tags[OWNER_TAG]
    assert tags[DEPLOYMENT_ID_TAG] == live.handle["deployment_id"]
    assert tags[MODEL_HASH_TAG] == spec.model_hash


def test_create_deploys_the_model_to_the_attached_compute_on_the_gpu_image(
    backend, fake, make_spec, progress
):
    spec = make_spec()
    backend.create(spec, progress)

    assert fake.sdk.AksCompute.call_args.args[1] == WORKSPACE["compute_name"]
    deploy = fake.sdk.Model.deploy.call_args.kwargs
    assert (deploy["name"], deploy["overwrite"]) == ("mnist-gpu", False)
    assert deploy["deployment_target"].name == WORKSPACE["compute_name"]
    assert [m.id for m in deploy["models"]] == ["mnist-dnn:1"]
    inference_config = deploy["inference_config"]  # the real azureml-core InferenceConfig
    assert (inference_config.entry_script, inference_config.source_directory) == ("score.py", spec.source_dir)
    assert inference_config.environment.docker.base_image == GPU_BASE_IMAGE


def test_create_records_where_the_service_lives_in_its_handle(backend, make_spec, progress):
    live = backend.create(make_spec(), progress)

    assert {k: live.handle[k] for k in WORKSPACE} == WORKSPACE
    assert live.handle["service_name"] == "mnist-gpu"
    assert live.settings == DEV_SETTINGS.to_dict()  # read back: no drift right after create


def test_the_registered_model_is_reused_when_its_content_hash_matches(backend, fake, make_spec, progress):
    first = backend.create(make_spec(), progress)
    backend.delete(first)

    second = backend.create(make_spec(), progress)

    assert fake.sdk.Model.register.call_count == 1
    assert [(m["name"], m["version"]) for m in fake.state["models"]] == [("mnist-dnn", 1)]
    assert second.model_id == first.model_id == "mnist-dnn:1"
    list_call = fake.sdk.Model.list.call_args
    assert list_call.kwargs == {"name": "mnist-dnn", "tags": [[MODEL_HASH_TAG, "a" * 64]]}
    assert any("reusing model mnist-dnn:1" in message for message in progress.messages)


def test_a_changed_model_registers_a_new_version(backend, fake, make_spec, progress):
    backend.delete(backend.create(make_spec(), progress))

    live = backend.create(make_spec(model_hash="d" * 64), progress)

    assert live.model_id == "mnist-dnn:2"
    assert [m["tags"][MODEL_HASH_TAG] for m in fake.state["models"]] == ["a" * 64, "d" * 64]


@pytest.mark.parametrize("outcome", ["Failed", "Unhealthy"])
def test_a_service_that_ends_unhealthy_is_deleted_and_the_error_has_its_logs(
    backend, fake, make_spec, progress, outcome
):
    fake.set_scenario(deploy_outcome=outcome, logs="line 1\nTraceback: init() failed\nOSError: no GPU")

    with pytest.raises(DeploymentFailed) as failure:
        backend.create(make_spec(), progress)

    assert "OSError: no GPU" in failure.value.logs
    assert "Traceback: init() failed" in str(failure.value)
    assert outcome in str(failure.value)
    assert "mnist-gpu" not in fake.state["services"]
    assert fake.state["deleted_services"] == ["mnist-gpu"]


def test_a_wait_timeout_deletes_the_service_and_says_so(fake, make_spec, progress):
    environ = {**SP_ENVIRON, WAIT_TIMEOUT_VARIABLE: "123"}
    backend = AzureMlBackend(sdk=fake.sdk, environ=environ, progress_interval_s=0.01)
    fake.set_scenario(deploy_outcome="timeout", logs="still pulling the image")

    with pytest.raises(DeploymentFailed) as failure:
        backend.create(make_spec(), progress)

    assert "timeout" in str(failure.value)
    assert failure.value.logs == "still pulling the image"
    assert "mnist-gpu" not in fake.state["services"]
    assert fake.state["wait_timeouts"] == [123.0]


def test_progress_is_reported_while_waiting(fake, make_spec):
    gate = threading.Event()
    fake.wait_gate = gate
    progress = Progress(on_message=lambda message: gate.set() if message.startswith("waiting for") else None)
    backend = AzureMlBackend(sdk=fake.sdk, environ=dict(SP_ENVIRON), progress_interval_s=0.01)

    live = backend.create(make_spec(), progress)

    assert live.state == "Healthy"
    waiting = [m for m in progress.messages if m.startswith("waiting for mnist-gpu")]
    assert waiting, progress.messages


def test_a_same_named_service_of_someone_else_is_never_overwritten(backend, fake, make_spec, progress):
    fake.add_foreign_service("mnist-gpu", tags={"team": "someone-else"})

    with pytest.raises(DeploymentFailed) as failure:
        backend.create(make_spec(), progress)

    assert "'mnist-gpu'" in str(failure.value)
    assert "not created by this stack" in str(failure.value)
    fake.sdk.Model.deploy.assert_not_called()
    assert fake.state["services"]["mnist-gpu"]["tags"] == {"team": "someone-else"}


def test_an_update_of_replicas_only_sends_only_the_replicas(backend, fake, make_spec, progress):
    old = make_spec()
    live = backend.create(old, progress)
    new = make_spec(settings=dataclasses.replace(DEV_SETTINGS, replicas=5))

    updated = backend.update(live, old, new, progress)

    assert fake.state["services"]["mnist-gpu"]["updates"] == [["num_replicas"]]
    assert fake.sdk.Model.register.call_count == 1
    assert fake.sdk.InferenceConfig.call_count == 1  # only the create built one
    assert updated.settings["replicas"] == 5
    assert updated.model_id == "mnist-dnn:1"
    assert updated.handle["deployment_id"] == live.handle["deployment_id"]


def test_an_update_of_the_model_sends_models_and_inference_config(backend, fake, make_spec, progress):
    old = make_spec()
    live = backend.create(old, progress)
    new = make_spec(model_hash="e" * 64)

    updated = backend.update(live, old, new, progress)

    (sent,) = fake.state["services"]["mnist-gpu"]["updates"]
    assert sent == ["inference_config", "models", "tags"]
    assert fake.state["services"]["mnist-gpu"]["tags"][MODEL_HASH_TAG] == "e" * 64
    assert updated.model_id == "mnist-dnn:2"
    assert updated.state == "Healthy"


def test_a_failed_update_carries_the_logs_and_keeps_the_service(backend, fake, make_spec, progress):
    old = make_spec()
    live = backend.create(old, progress)
    fake.set_scenario(update_outcome="Failed", logs="CUDA error: no kernel image")

    with pytest.raises(DeploymentFailed) as failure:
        backend.update(live, old, make_spec(source_hash="f" * 64), progress)

    assert "CUDA error: no kernel image" in failure.value.logs
    assert "mnist-gpu" in fake.state["services"]


def test_an_unchanged_update_calls_nothing(backend, fake, make_spec, progress):
    spec = make_spec()
    live = backend.create(spec, progress)

    again = backend.update(live, spec, make_spec(tags={"stack": "dev"}), progress)

    assert fake.state["services"]["mnist-gpu"]["updates"] == []
    assert again.state == "Healthy"


def test_read_reports_live_state_and_drift(backend, fake, make_spec, progress):
    spec = make_spec()
    live = backend.create(spec, progress)
    fake.edit(lambda state: state["services"]["mnist-gpu"]["settings"].update(num_replicas=1))

    read = backend.read(live, spec)

    assert read is not None
    assert read.state == "Healthy"
    assert read.settings["replicas"] == 1  # changed out of band: the provider shows it as drift
    assert read.keys == live.keys


def test_read_of_a_deleted_service_is_none(backend, fake, make_spec, progress):
    spec = make_spec()
    live = backend.create(spec, progress)
    fake.edit(lambda state: state["services"].clear())

    assert backend.read(live, spec) is None


def test_read_of_a_same_named_service_of_someone_else_is_none(backend, fake, make_spec, progress):
    spec = make_spec()
    live = backend.create(spec, progress)
    fake.edit(lambda state: state["services"].clear())
    fake.add_foreign_service("mnist-gpu")

    assert backend.read(live, spec) is None


def test_delete_removes_the_service_and_a_missing_service_is_success(backend, fake, make_spec, progress):
    live = backend.create(make_spec(), progress)

    backend.delete(live)
    backend.delete(live)  # already gone

    assert fake.state["services"] == {}
    assert fake.state["deleted_services"] == ["mnist-gpu"]


def test_delete_never_touches_a_same_named_service_of_someone_else(backend, fake, make_spec, progress):
    live = backend.create(make_spec(), progress)
    fake.edit(lambda state: state["services"].clear())
    fake.add_foreign_service("mnist-gpu")

    backend.delete(live)

    assert "mnist-gpu" in fake.state["services"]


def test_token_auth_stores_no_keys(backend, fake, make_spec, progress):
    live = backend.create(make_spec(settings=dataclasses.replace(DEV_SETTINGS, auth="token")), progress)

    configuration = fake.sdk.AksWebservice.deploy_configuration.call_args.kwargs
    assert (configuration["auth_enabled"], configuration["token_auth_enabled"]) == (False, True)
    assert live.keys is None
    assert live.settings["auth"] == "token"


def test_autoscale_settings_are_sent_only_when_enabled(backend, fake, make_spec, progress):
    autoscaled = dataclasses.replace(
        DEV_SETTINGS, autoscale=Autoscale(enabled=True, min_replicas=1, max_replicas=3, target_utilization=60)
    )

    live = backend.create(make_spec(settings=autoscaled), progress)

    configuration = fake.sdk.AksWebservice.deploy_configuration.call_args.kwargs
    assert "num_replicas" not in configuration
    assert (
        configuration["autoscale_enabled"],
        configuration["autoscale_min_replicas"],
        configuration["autoscale_max_replicas"],
        configuration["autoscale_target_utilization"],
    ) == (True, 1, 3, 60)
    assert live.settings["autoscale"] == {
        "enabled": True,
        "min_replicas": 1,
        "max_replicas": 3,
        "target_utilization": 60,
    }


def test_logs_returns_the_tail(backend, fake, make_spec, progress):
    fake.set_scenario(logs="\n".join(f"line {i}" for i in range(500)))
    live = backend.create(make_spec(), progress)

    tail = backend.logs(live, tail_lines=3)

    assert tail.splitlines() == ["line 497", "line 498", "line 499"]


def test_no_secret_reaches_the_outputs_or_progress(backend, make_spec, progress):
    live = backend.create(make_spec(), progress)

    assert_no_secret(SP_ENVIRON["AZURE_CLIENT_SECRET"], live.to_dict(), progress.messages)


def test_the_backend_pickles_without_sdk_or_credentials():
    import pickle

    backend = AzureMlBackend()  # as the provider constructs it
    restored = pickle.loads(pickle.dumps(backend))

    assert isinstance(restored, AzureMlBackend)
    assert b"SECRET" not in pickle.dumps(backend)


def test_fake_sdk_is_autospecced(fake: FakeAzureMl):
    """The double rejects argument names the real SDK does not have."""
    with pytest.raises(TypeError):
        fake.sdk.Model.list(object(), model_name="x")
    with pytest.raises(TypeError):
        fake.sdk.AksWebservice.deploy_configuration(replicas=3)


def test_a_deploy_request_the_sdk_rejects_is_a_deployment_failure(backend, fake, make_spec, progress):
    # min > max: the real AksServiceDeploymentConfiguration.validate_configuration rejects it.
    bad = dataclasses.replace(DEV_SETTINGS, autoscale=Autoscale(enabled=True, min_replicas=4, max_replicas=2))

    with pytest.raises(DeploymentFailed, match="autoscale_min_replicas cannot be greater"):
        backend.create(make_spec(settings=bad), progress)

    assert fake.state["services"] == {}
    fake.sdk.Model.register.assert_not_called()  # rejected before anything was registered


def test_a_bad_wait_timeout_setting_fails_before_anything_is_deployed(fake, make_spec, progress):
    backend = AzureMlBackend(sdk=fake.sdk, environ={**SP_ENVIRON, WAIT_TIMEOUT_VARIABLE: "soon"})

    with pytest.raises(ValueError, match=f"{WAIT_TIMEOUT_VARIABLE}='soon'"):
        backend.create(make_spec(), progress)

    fake.sdk.Model.deploy.assert_not_called()
