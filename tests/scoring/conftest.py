"""Fixtures shared by the scoring tests (tests/conftest.py trains the model they serve)."""

from __future__ import annotations

import pytest

from model_service import mnist, train


@pytest.fixture(scope="session")
def held_out_digits() -> mnist.Dataset:
    """The digits training held out (train.py's split, seed and fraction), so accuracy is honest."""
    data = mnist.load_digits_as_mnist()
    _, test_set = mnist.split(data, test_fraction=train.DEFAULT_TEST_FRACTION, seed=train.DEFAULT_SEED)
    return test_set
