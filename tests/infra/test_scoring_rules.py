"""rules/scoring.py against the entry script's own settings (model_service/scoring_settings.py).

The scorer can't import infra/ (Azure ML uploads model_service/ alone) and infra/ never imports
the scorer, so the two copies of the variables, defaults, ranges and choices are held equal here,
by behaviour: what the rules accept the scorer accepts, what they refuse it refuses, and the
environment a `ScoringSettings` writes reads back as the same values.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from deployment.settings import ScoringSettings
from rules import scoring

MODEL_SERVICE = Path(__file__).resolve().parents[2] / "model_service"
MODEL_ROOT = "/models/mnist"  # never read: settings only


@pytest.fixture(scope="module")
def scorer() -> ModuleType:
    """scoring_settings as azmlinfsrv imports it: a top-level module of model_service/."""
    sys.path.insert(0, str(MODEL_SERVICE))
    try:
        return importlib.import_module("scoring_settings")
    finally:
        sys.path.remove(str(MODEL_SERVICE))


def scorer_reads(scorer: ModuleType, environment: dict[str, str]):
    return scorer.ScorerRuntimeSettings.from_env({"AZUREML_MODEL_DIR": MODEL_ROOT, **environment})


def test_the_defaults_are_the_scorers(scorer: ModuleType):
    read = scorer_reads(scorer, {})

    assert {name: getattr(read, name) for name in scoring.DEFAULTS} == scoring.DEFAULTS
    # SCORE_REQUIRE_GPU is left out unless set: the target decides, the scorer's default is false.
    assert ScoringSettings().environment() == {
        scoring.VARIABLES[name]: str(value) if name != "warmup_batches" else ",".join(map(str, value))
        for name, value in scoring.DEFAULTS.items()
        if name not in scoring.OPTIONAL
    }
    assert ScoringSettings(require_gpu=True).environment()["SCORE_REQUIRE_GPU"] == "true"
    assert scorer_reads(scorer, ScoringSettings(require_gpu=True).environment()).require_gpu is True


@pytest.mark.parametrize("max_batch", [1, 2, 7, 8, 9, 255, 256, 1024, 65536])
def test_the_default_warmup_sizes_follow_the_batch_limit_as_the_scorers_do(scorer: ModuleType, max_batch):
    read = scorer_reads(scorer, {"SCORE_MAX_BATCH": str(max_batch)})

    assert scoring.default_warmup_batches(max_batch) == read.warmup_batches
    assert ScoringSettings(max_batch=max_batch).warmup_batches == read.warmup_batches


@pytest.mark.parametrize("name", sorted(scoring.RANGES))
def test_each_range_ends_where_the_scorers_does(scorer: ModuleType, name: str):
    low, high = scoring.RANGES[name]
    variable = scoring.VARIABLES[name]
    for value, allowed in ((low - 1, False), (low, True), (high, True), (high + 1, False)):
        assert scoring.RULES[name].accepts(value) is allowed, (name, value)
        environment = {variable: str(value), "SCORE_WARMUP_BATCHES": "1"}
        if allowed:
            assert getattr(scorer_reads(scorer, environment), name) == value
        else:
            with pytest.raises(scorer.SettingsError, match=variable):
                scorer_reads(scorer, environment)


def test_the_forward_choices_are_the_scorers(scorer: ModuleType):
    for choice in scoring.FORWARD_CHOICES:
        assert scorer_reads(scorer, {"SCORE_FORWARD": choice}).forward == choice
    for refused in ("gpu", "numpy", "TensorFlowLite"):
        assert scoring.RULES["forward"].refuses(refused)
        with pytest.raises(scorer.SettingsError, match="SCORE_FORWARD"):
            scorer_reads(scorer, {"SCORE_FORWARD": refused})


@pytest.mark.parametrize(
    ("max_batch", "sizes", "allowed"), [(8, [1, 8], True), (8, [1, 9], False), (8, [0], False)]
)
def test_warmup_sizes_are_bounded_by_the_batch_limit_as_in_the_scorer(
    scorer: ModuleType, max_batch, sizes, allowed
):
    assert scoring.warmup_batches_rule(max_batch).accepts(sizes) is allowed
    environment = {"SCORE_MAX_BATCH": str(max_batch), "SCORE_WARMUP_BATCHES": ",".join(map(str, sizes))}
    if allowed:
        assert scorer_reads(scorer, environment).warmup_batches == tuple(sizes)
    else:
        with pytest.raises(scorer.SettingsError, match="SCORE_WARMUP_BATCHES"):
            scorer_reads(scorer, environment)


def test_the_environment_written_reads_back_as_the_same_settings(scorer: ModuleType):
    settings = ScoringSettings(
        max_batch=300,
        max_body_bytes=5000,
        warmup_batches=(2, 300),
        tf_threads=0,
        forward="routed",
        require_gpu=False,
        gpu_min_batch=17,
    )

    read = scorer_reads(scorer, settings.environment())

    assert {name: getattr(read, name) for name in scoring.VARIABLES} == {
        name: getattr(settings, name) for name in scoring.VARIABLES
    }
