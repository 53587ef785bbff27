"""The `scoring` section (the entry script's settings) and the worker-count default of
`service.maxConcurrentRequestsPerReplica`: defaults, each key, and every refusal's message."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, load_stack_config
from deployment.settings import ScoringSettings, ServiceSettings
from rules import scoring

TAGS = {"owner": "ml-platform", "expires-on": "2026-12-31"}


def problems(source: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(source, stack="dev")
    return [str(problem) for problem in caught.value.problems]


def test_unset_the_settings_are_the_scorers_defaults():
    cfg = load_stack_config({}, stack="local")

    assert cfg.scoring == ScoringSettings()
    # requireGpu unset: the target decides (None), the scorer's own default is False.
    scorers = {name: value for name, value in scoring.DEFAULTS.items() if name not in scoring.OPTIONAL}
    assert {name: getattr(cfg.scoring, name) for name in scorers} == scorers
    assert cfg.scoring.require_gpu is None


@pytest.mark.parametrize("target", ["local", "azure", "azure-v2"])
def test_every_key_is_read_on_every_target(target: str):
    source = {
        "target": target,
        "tags": TAGS,
        # As the engine hands an object over: JSON text.
        "aml-gpu-inference:scoring": (
            '{"maxBatch": "64", "maxBodyBytes": 2048, "warmupBatches": [1, 64], "tfThreads": 0, '
            '"forward": "tensorflow"}'
        ),
    }

    if target == "azure-v2":  # the how-to's 3 GPUs hold one colour: update in place
        source["aml-gpu-inference:rollout"] = {"strategy": "inPlace"}
    cfg = load_stack_config(source, stack="dev")

    assert cfg.scoring == ScoringSettings(
        max_batch=64, max_body_bytes=2048, warmup_batches=(1, 64), tf_threads=0, forward="tensorflow"
    )


def test_warmup_sizes_default_to_those_the_batch_limit_allows():
    cfg = load_stack_config({"scoring": {"maxBatch": 8}}, stack="local")

    assert cfg.scoring.warmup_batches == (1, 8)


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("maxBatch", 0, "a whole number ≥ 1 and ≤ 65536"),
        ("maxBatch", 65537, "a whole number ≥ 1 and ≤ 65536"),
        ("maxBatch", 2.5, "a whole number ≥ 1 and ≤ 65536"),
        ("maxBatch", "many", "a whole number ≥ 1 and ≤ 65536"),
        ("maxBodyBytes", 1023, "a whole number ≥ 1024 and ≤ 1073741824"),
        ("maxBodyBytes", 1024**3 + 1, "a whole number ≥ 1024 and ≤ 1073741824"),
        ("tfThreads", -1, "a whole number ≥ 0 and ≤ 256"),
        ("tfThreads", 257, "a whole number ≥ 0 and ≤ 256"),
        ("forward", "gpu", "one of auto, tensorflow, routed"),
        ("forward", "", "one of auto, tensorflow, routed"),
        (
            "warmupBatches",
            [1, 2048],
            "a non-empty list of whole numbers, each ≥ 1 and ≤ the maximum batch (1024)",
        ),
        ("warmupBatches", [], "a non-empty list of whole numbers, each ≥ 1 and ≤ the maximum batch (1024)"),
        ("warmupBatches", [0], "a non-empty list of whole numbers, each ≥ 1 and ≤ the maximum batch (1024)"),
        ("warmupBatches", 8, "a non-empty list of whole numbers, each ≥ 1 and ≤ the maximum batch (1024)"),
        (
            "warmupBatches",
            ["x"],
            "a non-empty list of whole numbers, each ≥ 1 and ≤ the maximum batch (1024)",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_the_key_and_what_is_allowed(key: str, value: Any, allowed: str):
    (problem,) = problems({"scoring": {key: value}})

    assert problem.startswith(f"aml-gpu-inference:scoring.{key} = ")
    assert problem.endswith(f": {allowed}")


def test_warmup_sizes_are_checked_against_the_configured_batch_limit():
    (problem,) = problems({"scoring": {"maxBatch": 8, "warmupBatches": [1, 9]}})

    assert problem == (
        "aml-gpu-inference:scoring.warmupBatches = [1, 9]: a non-empty list of whole numbers, "
        "each ≥ 1 and ≤ the maximum batch (8)"
    )


def test_an_invalid_batch_limit_is_the_one_problem_reported():
    assert problems({"scoring": {"maxBatch": 0, "warmupBatches": [1, 9]}}) == [
        "aml-gpu-inference:scoring.maxBatch = 0: a whole number ≥ 1 and ≤ 65536"
    ]


def test_an_unknown_key_is_refused_naming_the_keys_allowed_there():
    (problem,) = problems({"scoring": {"maxBatchSize": 8}})

    assert problem == (
        "aml-gpu-inference:scoring.maxBatchSize = 8: unknown key; allowed here: "
        "maxBatch, maxBodyBytes, warmupBatches, tfThreads, forward, requireGpu, gpuMinBatch"
    )


def test_scoring_must_be_an_object():
    (problem,) = problems({"scoring": 8})

    assert problem.startswith("aml-gpu-inference:scoring = 8: an object with keys maxBatch")


# --- the inference server's workers and the requests a replica takes at once ------------------


@pytest.mark.parametrize(
    ("cpu_cores", "memory_gb", "workers"),
    # Every replica has a GPU (gpuCores >= 1): 2.5 GB per worker, 0.5 GB kept.
    [(2, 4, 1), (2, 5.5, 2), (1, 8, 1), (3.86, 12, 3), (3, 8, 3), (3, 2, 1), (0.5, 8, 1)],
)
def test_max_concurrent_requests_per_replica_defaults_to_the_worker_count(cpu_cores, memory_gb, workers):
    cfg = load_stack_config(
        {
            "target": "azure",
            "tags": TAGS,
            "service": {"cpuCores": cpu_cores, "memoryGb": memory_gb},
        },
        stack="dev",
    )

    assert cfg.service.inference_workers == workers
    assert cfg.service.max_concurrent_requests_per_replica == workers


def test_an_explicit_max_concurrent_requests_per_replica_is_kept():
    cfg = load_stack_config({"service": {"maxConcurrentRequestsPerReplica": 5}}, stack="local")

    assert cfg.service.max_concurrent_requests_per_replica == 5
    assert cfg.service.inference_workers == ServiceSettings().inference_workers == 1  # with its GPU
