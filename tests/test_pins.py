"""The program's environment is exactly the pinned one (runs in .venv)."""

from pathlib import Path

from pins import exact_pins, mismatched_pins

ROOT = Path(__file__).resolve().parent.parent


def test_program_environment_matches_the_pins():
    assert mismatched_pins(ROOT / "requirements-dev.txt") == {}


def test_azureml_core_is_the_current_release_not_the_2021_fallback():
    pins = exact_pins(ROOT / "requirements.txt")
    assert pins["azureml-core"] == "1.61.0.post4"
    assert pins["pulumi"] == "3.223.0"
    assert pins["pulumi-azure-native"].startswith("3.24.")


def _uncommented(path: Path) -> str:
    return "\n".join(line.split("#", 1)[0] for line in path.read_text(errors="replace").splitlines())


def test_no_file_asks_for_the_removed_tensorflow_gpu_stub():
    # Comments may warn about it; no requirement, environment or build line may ask for it.
    offenders = [
        str(path.relative_to(ROOT))
        for pattern in ("*.txt", "*.yml", "*.yaml", "*.toml", "*.mk", "Makefile")
        for path in ROOT.rglob(pattern)
        if not any(part.startswith(".") or part == "artifacts" for part in path.relative_to(ROOT).parts)
        and "tensorflow-gpu" in _uncommented(path)
    ]
    assert offenders == []
