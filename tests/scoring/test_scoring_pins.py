"""The scoring environment is exactly the pinned one (runs in .venv-scoring)."""

from pathlib import Path

from pins import conda_pip_lines, exact_pins, mismatched_pins, requirement_lines

ROOT = Path(__file__).resolve().parents[2]


def test_scoring_environment_matches_the_pins():
    assert mismatched_pins(ROOT / "model_tools" / "requirements.txt") == {}


def test_the_gpu_check_installs_the_images_pip_list_pin_for_pin_plus_the_training_pins():
    # make gpu-check measures what a GPU replica runs: requirements-gpu.txt is environment.yml's
    # pip list, line for line (extras such as tensorflow[and-cuda] included), and only the
    # training tools on top, at the versions the scoring tools pin.
    image = conda_pip_lines(ROOT / "model_service" / "environment.yml")
    gpu = requirement_lines(ROOT / "scripts" / "gpu_check" / "requirements-gpu.txt")
    assert image, "environment.yml has no pip list"
    assert "tensorflow[and-cuda]==2.21.0" in image
    assert gpu[: len(image)] == image
    tools = exact_pins(ROOT / "model_tools" / "requirements.txt")
    extra = dict(name_and_version.split("==", 1) for name_and_version in gpu[len(image) :])
    assert extra == {"scikit-learn": tools["scikit-learn"]}
