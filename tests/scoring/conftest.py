"""Fixtures shared by the scoring tests (tests/conftest.py trains the model they serve)."""

from __future__ import annotations

from pathlib import Path

import pytest

# The scoring modules are top-level modules of the source directory, as azmlinfsrv loads them:
# importing the entry script puts that directory on sys.path (once, in score.py), so the tests
# import the same modules by the same plain names (`import scorer`), never a second copy.
from model_service import score
from model_tools import mnist


@pytest.fixture(scope="session")
def held_out_digits() -> mnist.Dataset:
    """The digits training holds out by default (mnist.split_digits), so accuracy is honest."""
    return mnist.split_digits()[1]


@pytest.fixture(scope="module")
def service(trained_model_dir: Path, request: pytest.FixtureRequest) -> score.ScoringService:
    """The entry script's service over the trained model, initialized as azmlinfsrv does it, with
    the limits of the test module that uses it: its MAX_BATCH, MAX_BODY and WARMUP_BATCHES."""
    module = request.module
    service = score.ScoringService()
    service.init(
        {
            "AZUREML_MODEL_DIR": str(trained_model_dir),
            "SCORE_MAX_BATCH": str(module.MAX_BATCH),
            "SCORE_MAX_BODY_BYTES": str(module.MAX_BODY),
            "SCORE_WARMUP_BATCHES": module.WARMUP_BATCHES,
        }
    )
    return service
