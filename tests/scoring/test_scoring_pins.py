"""The scoring environment is exactly the pinned one (runs in .venv-scoring)."""

from pathlib import Path

from pins import mismatched_pins

ROOT = Path(__file__).resolve().parents[2]


def test_scoring_environment_matches_the_pins():
    assert mismatched_pins(ROOT / "model_service" / "requirements-tools.txt") == {}
