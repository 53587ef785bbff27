"""Fixtures shared by both test runs (the scoring env's and the program env's): stdlib only."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INFRA_DIR = PROJECT_ROOT / "infra"
SCORING_PYTHON = PROJECT_ROOT / ".venv-scoring" / "bin" / "python"
PROGRAM_PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"

# No network in tests: every cost estimate (the program's info diagnostic under mocks, the engine's
# runs, the scripts, make) is priced from the shipped table. The Retail Prices API client is
# tested against pages the tests serve themselves (tests/cost/test_cost_prices.py).
os.environ["AMLGPU_PRICE_SOURCE"] = "table"

# The files a trained model depends on: a change to any of them trains a new test model.
_MODEL_INPUTS = (
    "model_tools/train.py",
    "model_tools/training_options.py",
    "model_tools/model.py",
    "model_tools/mnist.py",
)


def _model_inputs_digest() -> str:
    digest = hashlib.sha256()
    for name in _MODEL_INPUTS:
        digest.update(name.encode())
        digest.update((PROJECT_ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def trained_model_dir() -> Path:
    """A real model trained on scikit-learn's digits by `python -m model_tools.train --digits`.

    Cached under artifacts/test-models/<digest of the training code>, so both test runs (and
    repeated runs) train it once; read-only for tests: copy it before changing anything.
    """
    target = PROJECT_ROOT / "artifacts" / "test-models" / _model_inputs_digest()
    if (target / "metadata.json").exists():
        return target
    staging = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run(
        [str(SCORING_PYTHON), "-m", "model_tools.train", "--digits", "--out", str(staging)],
        cwd=PROJECT_ROOT,
        check=True,
        stdout=sys.stderr,
    )
    if not (target / "metadata.json").exists():
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    else:  # another run finished first
        shutil.rmtree(staging, ignore_errors=True)
    return target
