"""Fixtures of the program tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.two_runs import Baseline, at_rest


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Construction hashes the model directory's content; under mocks any content will do.
    model = tmp_path_factory.mktemp("model")
    (model / "saved_model.pb").write_bytes(b"graph")
    return model


# Two-run tests (harness/two_runs.py): each Azure stack at rest, once per module.
@pytest.fixture(scope="module")
def v1(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    return at_rest("dev", tmp_path_factory.mktemp("model-dev"))


@pytest.fixture(scope="module")
def v2(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    return at_rest("dev-v2", tmp_path_factory.mktemp("model-dev-v2"))


@pytest.fixture(scope="module", params=["dev", "dev-v2"])
def baseline(request: pytest.FixtureRequest) -> Baseline:
    return request.getfixturevalue("v1" if request.param == "dev" else "v2")
