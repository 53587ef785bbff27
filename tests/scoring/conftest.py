"""Fixtures shared by the scoring tests (tests/conftest.py trains the model they serve)."""

from __future__ import annotations

import pytest

# The scoring modules are top-level modules of the source directory, as azmlinfsrv loads them:
# importing the entry script puts that directory on sys.path (once, in score.py), so the tests
# import the same modules by the same plain names (`import scorer`), never a second copy.
from model_service import score  # noqa: F401
from model_tools import mnist


@pytest.fixture(scope="session")
def held_out_digits() -> mnist.Dataset:
    """The digits training holds out by default (mnist.split_digits), so accuracy is honest."""
    return mnist.split_digits()[1]
