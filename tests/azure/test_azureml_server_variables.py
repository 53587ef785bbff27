"""The server's variables on Azure ML v1: the entry script's settings and azmlinfsrv's WORKER_COUNT
reach the deployed environment (`Environment.environment_variables` of the real azureml-core
InferenceConfig the backend builds), and a change of either is an update with a new
inference_config, never a new service."""

from __future__ import annotations

import dataclasses

from azure_cases import DEV_SETTINGS

from deployment.settings import ScoringSettings

SCORING = ScoringSettings(max_batch=64, max_body_bytes=4 * 1024**2, tf_threads=2, forward="tensorflow")


def test_create_deploys_the_scoring_settings_and_the_worker_count(backend, fake, make_spec, progress):
    backend.create(make_spec(scoring=SCORING), progress)

    environment = fake.sdk.Model.deploy.call_args.kwargs["inference_config"].environment
    assert environment.environment_variables == {
        "SCORE_MAX_BATCH": "64",
        "SCORE_MAX_BODY_BYTES": str(4 * 1024**2),
        "SCORE_WARMUP_BATCHES": "1,8,64",  # the default sizes a limit of 64 allows, and the limit
        "SCORE_TF_THREADS": "2",
        "SCORE_FORWARD": "tensorflow",
        "SCORE_GPU_MIN_BATCH": "64",
        "SCORE_REQUIRE_GPU": "true",  # the replica has a GPU (gpuCores 1): it must see it
        "WORKER_COUNT": "1",  # the how-to's 2 cores and 4 GB, with a GPU (2.5 GB per worker)
    }
    assert (
        fake.state["services"]["mnist-gpu"]["environment"]["variables"] == environment.environment_variables
    )


def test_a_spec_without_scoring_settings_still_sets_the_worker_count(backend, fake, make_spec, progress):
    backend.create(make_spec(scoring=None), progress)

    assert fake.state["services"]["mnist-gpu"]["environment"]["variables"] == {
        "WORKER_COUNT": "1",
        "SCORE_REQUIRE_GPU": "true",
    }


def test_a_changed_scoring_setting_updates_the_environment_in_place(backend, fake, make_spec, progress):
    old = make_spec(scoring=SCORING)
    live = backend.create(old, progress)
    new = make_spec(scoring=dataclasses.replace(SCORING, max_batch=128))

    updated = backend.update(live, old, new, progress)

    service = fake.state["services"]["mnist-gpu"]
    assert service["updates"] == [["inference_config", "models"]]
    assert service["environment"]["variables"]["SCORE_MAX_BATCH"] == "128"
    assert fake.sdk.Model.register.call_count == 1  # the same model, reused by its content hash
    assert updated.handle["deployment_id"] == live.handle["deployment_id"]


def test_more_cores_update_the_cores_and_the_worker_count_together(backend, fake, make_spec, progress):
    old = make_spec(scoring=SCORING)
    live = backend.create(old, progress)
    bigger = dataclasses.replace(DEV_SETTINGS, cpu_cores=3.0, memory_gb=8.0)

    backend.update(live, old, make_spec(scoring=SCORING, settings=bigger), progress)

    service = fake.state["services"]["mnist-gpu"]
    assert service["updates"] == [["cpu_cores", "inference_config", "memory_gb", "models"]]
    assert service["environment"]["variables"]["WORKER_COUNT"] == "3"


def test_a_state_from_before_the_scoring_settings_gets_them_on_the_next_update(
    backend, fake, make_spec, progress
):
    """Deployed without them (the inputs had no `scoring`): the next update sends them even
    though every other input is the same."""
    old = make_spec(scoring=None)
    live = backend.create(old, progress)

    backend.update(live, old, make_spec(scoring=ScoringSettings()), progress)

    variables = fake.state["services"]["mnist-gpu"]["environment"]["variables"]
    assert variables["SCORE_MAX_BATCH"] == "1024" and variables["WORKER_COUNT"] == "1"
