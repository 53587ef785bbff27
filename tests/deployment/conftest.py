"""Fixtures of the deployment tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.provider_host import kill_everything_under


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A state dir for this test; anything still running from it afterwards is killed (a test
    that expects nothing left has already failed on it)."""
    directory = tmp_path / "state"
    yield directory
    kill_everything_under(directory)
