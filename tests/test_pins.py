"""The program's environment is exactly the pinned one (runs in .venv)."""

from importlib import metadata
from pathlib import Path

from pins import exact_pins, mismatched_pins

ROOT = Path(__file__).resolve().parent.parent


def test_program_environment_matches_the_pins():
    assert mismatched_pins(ROOT / "requirements-dev.txt") == {}


def test_the_sdks_the_program_imports_come_from_the_pinned_distributions():
    """What `import` finds, not only what pip recorded: a stale copy earlier on sys.path (the old
    azureml-core fallback, another pulumi) would pass the metadata check and still be used."""
    import azureml.core
    import pulumi
    import pulumi_azure_native

    pins = exact_pins(ROOT / "requirements.txt")
    for name, module in (
        ("azureml-core", azureml.core),
        ("pulumi", pulumi),
        ("pulumi-azure-native", pulumi_azure_native),
    ):
        distribution = metadata.distribution(name)
        owned = {Path(distribution.locate_file(file)).resolve() for file in distribution.files or ()}
        assert Path(module.__file__).resolve() in owned, (name, module.__file__)
        assert distribution.version == pins[name], name


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


def test_both_environments_pin_the_same_test_tools():
    # pytest and hypothesis run in .venv and in .venv-scoring; one version of each keeps a test
    # that passes in one environment from failing in the other on a tool difference.
    program_tools = (
        exact_pins(ROOT / "requirements-dev.txt").items() - exact_pins(ROOT / "requirements.txt").items()
    )
    scoring_tools = (
        exact_pins(ROOT / "model_tools" / "requirements.txt").items()
        - exact_pins(ROOT / "model_service" / "requirements.txt").items()
    )
    program, scoring = dict(program_tools), dict(scoring_tools)
    shared = program.keys() & scoring.keys()

    assert "pytest" in shared
    assert {name: program[name] for name in shared} == {name: scoring[name] for name in shared}
