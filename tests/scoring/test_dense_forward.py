"""The numpy forward (model_service/dense_forward.py) against TensorFlow's, on the real trained model.

The scorer runs it on a CPU only after it has matched TensorFlow's logits; these tests show it
computes the same digits, that anything it cannot reproduce keeps the TensorFlow forward, and that
a GPU and SCORE_FORWARD=tensorflow keep TensorFlow too.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dense_forward
import model_forward
import numpy as np
import pytest
import scorer
import scoring_errors
import scoring_settings

from model_tools import mnist

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def saved_model(trained_model_dir: Path) -> Any:
    import tensorflow as tf

    return tf.saved_model.load(str(trained_model_dir))


@pytest.fixture(scope="module")
def held_out_pixels(held_out_digits: mnist.Dataset) -> np.ndarray:
    return held_out_digits.images.reshape(len(held_out_digits), -1)


def loaded_scorer(model_dir: Path, **settings: Any) -> scorer.Scorer:
    loaded = scorer.Scorer(
        scoring_settings.ScorerRuntimeSettings(model_root=model_dir, warmup_batches=(1,), **settings)
    )
    loaded.load()
    return loaded


def test_the_stack_computes_tensorflows_logits_and_digits(
    saved_model: Any, held_out_pixels: np.ndarray
) -> None:
    stack = dense_forward.DenseStack.from_variables(saved_model.variables)
    assert [kernel.shape for kernel in stack.kernels] == [(784, 300), (300, 100), (100, 10)]
    images = mnist.to_model_input(held_out_pixels.reshape(-1, 28, 28))
    reference = saved_model.serve(images).numpy()
    np.testing.assert_allclose(stack.logits(images), reference, atol=dense_forward.LOGIT_TOLERANCE)
    np.testing.assert_array_equal(stack.digits(images), reference.argmax(axis=1))
    np.testing.assert_array_equal(stack.digits(held_out_pixels), stack.digits(images))  # uint8 scaled alike
    assert stack.digits(images).dtype == np.int32
    assert dense_forward.agreement_problem(stack, reference, images) is None


def test_a_different_function_is_caught_by_the_agreement_check(saved_model: Any) -> None:
    stack = dense_forward.DenseStack.from_variables(saved_model.variables)
    images = dense_forward.check_batch()
    reference = saved_model.serve(images).numpy()
    shifted = dense_forward.DenseStack(stack.kernels, (*stack.biases[:-1], stack.biases[-1] + 0.01))
    problem = dense_forward.agreement_problem(shifted, reference, images)
    assert problem is not None and "differ from TensorFlow's by up to 0.01" in problem
    assert "shape" in (dense_forward.agreement_problem(stack, reference[:, :9], images) or "")


@pytest.mark.parametrize(
    ("shapes", "fragment"),
    [
        ([], "0 variables"),
        ([(784, 10)], "1 variables"),
        ([(784, 300), (300,), (200, 10), (10,)], "layer 1: kernel [200, 10]"),
        ([(784, 300), (299,)], "layer 0: kernel [784, 300] and bias [299]"),
        ([(784, 300), (300,), (300, 7), (7,)], "7 outputs, not 10 logits"),
    ],
)
def test_variables_that_are_not_a_dense_chain_to_10_logits_are_refused(
    shapes: list[tuple[int, ...]], fragment: str
) -> None:
    with pytest.raises(
        dense_forward.UnsupportedModel, match=fragment.replace("[", r"\[").replace("]", r"\]")
    ):
        dense_forward.DenseStack.from_variables([np.zeros(shape, np.float32) for shape in shapes])


def test_the_scorer_runs_numpy_on_a_cpu_and_tensorflow_when_asked(
    trained_model_dir: Path, held_out_pixels: np.ndarray
) -> None:
    on_cpu = loaded_scorer(trained_model_dir)
    with_tensorflow = loaded_scorer(trained_model_dir, forward="tensorflow")
    assert (on_cpu.forward_name, with_tensorflow.forward_name) == ("numpy", "tensorflow")
    images = mnist.to_model_input(held_out_pixels.reshape(-1, 28, 28))
    for batch in (images[:1], images, held_out_pixels[:1], held_out_pixels):
        np.testing.assert_array_equal(on_cpu.predict(batch), with_tensorflow.predict(batch))


def test_on_a_gpu_the_scorer_routes_by_batch_size_and_tensorflow_keeps_tensorflow(
    trained_model_dir: Path, held_out_pixels: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No GPU here: the device choice is the GPU's, and TensorFlow's soft placement runs it on the CPU.
    monkeypatch.setattr(scorer, "configure_devices", lambda _config: "/GPU:0")
    on_gpu = loaded_scorer(trained_model_dir)
    forced = loaded_scorer(trained_model_dir, forward="tensorflow")
    assert (on_gpu.device, on_gpu.forward_name, forced.forward_name) == ("/GPU:0", "routed", "tensorflow")
    assert [on_gpu.route(n) for n in (1, 63, 64, 1024)] == ["numpy", "numpy", "tensorflow", "tensorflow"]
    assert [forced.route(n) for n in (1, 1024)] == ["tensorflow", "tensorflow"]
    monkeypatch.undo()
    on_cpu = loaded_scorer(trained_model_dir)
    assert (on_cpu.device, on_cpu.forward_name, on_cpu.route(1024)) == ("/CPU:0", "numpy", "numpy")
    np.testing.assert_array_equal(on_gpu.predict(held_out_pixels), on_cpu.predict(held_out_pixels))
    np.testing.assert_array_equal(forced.predict(held_out_pixels), on_cpu.predict(held_out_pixels))


class _Counting:
    """A forward that counts the batch sizes it ran."""

    def __init__(self, forward: Any) -> None:
        self.name = forward.name
        self.inner = forward
        self.sizes: list[int] = []

    def digits(self, images: np.ndarray) -> np.ndarray:
        self.sizes.append(len(images))
        return self.inner.digits(images)


@pytest.mark.parametrize("min_batch", [0, 1, 5, 16, 17])
def test_routed_on_a_cpu_sends_each_batch_where_the_threshold_says_with_the_same_digits(
    trained_model_dir: Path, held_out_pixels: np.ndarray, min_batch: int
) -> None:
    routed = loaded_scorer(trained_model_dir, forward="routed", gpu_min_batch=min_batch, max_batch=16)
    reference = loaded_scorer(trained_model_dir, forward="tensorflow", max_batch=16)
    forward = routed.forward
    assert isinstance(forward, model_forward.RoutedForward)
    assert (forward.small.name, forward.large.name, forward.min_batch) == ("numpy", "tensorflow", min_batch)
    small, large = _Counting(forward.small), _Counting(forward.large)
    counted = model_forward.RoutedForward(small, large, min_batch)
    images = mnist.to_model_input(held_out_pixels[:16].reshape(-1, 28, 28))
    for n in range(1, 17):
        expected = "tensorflow" if n >= min_batch else "numpy"
        assert forward.route(n) == routed.route(n) == expected
        assert forward.forward_for(n).name == expected
        for batch in (held_out_pixels[:n], images[:n]):
            np.testing.assert_array_equal(counted.digits(batch), reference.predict(batch))
            np.testing.assert_array_equal(routed.predict(batch), reference.predict(batch))
    assert small.sizes == [n for n in range(1, 17) if n < min_batch for _ in range(2)]
    assert large.sizes == [n for n in range(1, 17) if n >= min_batch for _ in range(2)]


@pytest.mark.parametrize(
    ("min_batch", "warmup", "small_sizes", "large_sizes"),
    [
        (64, (1,), [1], [64]),  # TensorFlow warmed at the smallest batch it serves
        (64, (1, 8, 256), [1, 8], [256]),
        (4, (8, 256), [3], [8, 256]),  # numpy warmed at the largest batch it serves
        (0, (1, 8), [], [1, 8]),  # numpy serves nothing: nothing to warm
        (300, (1, 256), [1, 256], []),  # over the batch limit: TensorFlow serves nothing
    ],
)
def test_warm_up_on_a_routed_forward_runs_each_forward_at_a_size_it_serves(
    min_batch: int, warmup: tuple[int, ...], small_sizes: list[int], large_sizes: list[int]
) -> None:
    class Fake:
        def __init__(self, name: str) -> None:
            self.name = name
            self.sizes: list[int] = []

        def digits(self, images: np.ndarray) -> np.ndarray:
            self.sizes.append(len(images))
            return np.zeros(len(images), np.int32)

    small, large = Fake("numpy"), Fake("tensorflow")
    scorer.warm_up(model_forward.RoutedForward(small, large, min_batch), warmup, 256)
    assert small.sizes == [size for size in small_sizes for _ in range(2)]  # uint8 and float32
    assert large.sizes == [size for size in large_sizes for _ in range(2)]


def test_routed_falls_back_to_tensorflow_alone_when_numpy_does_not_match(
    trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_forward, "matching_dense_stack", lambda _model, _serve: None)
    loaded = loaded_scorer(trained_model_dir, forward="routed")
    assert (loaded.forward_name, loaded.route(1)) == ("tensorflow", "tensorflow")


def test_a_required_gpu_that_is_missing_stops_load_naming_what_is_missing(
    trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(scoring_errors.DeviceError) as caught:
        loaded_scorer(trained_model_dir, require_gpu=True)
    message = str(caught.value)
    assert isinstance(caught.value, scoring_errors.ModelLoadError)
    assert message.startswith("SCORE_REQUIRE_GPU=true but no GPU is visible to TensorFlow")
    for fragment in ("CUDA_VISIBLE_DEVICES ''", "libcuda", "nvidia-smi: ", "TensorFlow 2.21.0 is built"):
        assert fragment in message, message


def test_the_device_report_of_this_cpu_machine(trained_model_dir: Path) -> None:
    import device_setup
    import tensorflow as tf

    loaded = loaded_scorer(trained_model_dir)
    report = loaded.device_report
    assert report is not None
    assert set(report.to_dict()) == {
        "device",
        "gpu_count",
        "gpu_name",
        "compute_capability",
        "driver_version",
        "tensorflow_version",
        "built_with_cuda",
        "cuda_build_version",
        "cudnn_build_version",
        "cuda_visible_devices",
        "libcuda",
        "nvidia_smi",
    }
    json.dumps(report.to_dict())  # a GPU check prints it as JSON
    assert (report.device, report.gpu_count, report.gpu_name) == ("/CPU:0", 0, None)
    assert report.tensorflow_version == tf.__version__
    assert report.built_with_cuda == tf.test.is_built_with_cuda()
    assert report == device_setup.device_report(tf, "/CPU:0")


def test_the_device_report_of_a_gpu_names_it_and_its_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    import device_setup

    class Tf:
        __version__ = "2.21.0"

        class config:
            @staticmethod
            def list_physical_devices(kind: str) -> list[str]:
                return ["GPU:0", "GPU:1"] if kind == "GPU" else []

            class experimental:
                @staticmethod
                def get_device_details(_gpu: str) -> dict[str, Any]:
                    return {"device_name": "NVIDIA H200", "compute_capability": (9, 0)}

        class sysconfig:
            @staticmethod
            def get_build_info() -> dict[str, Any]:
                return {"cuda_version": "12.5.1", "cudnn_version": "9", "is_cuda_build": True}

        class test:
            @staticmethod
            def is_built_with_cuda() -> bool:
                return True

    monkeypatch.setattr(device_setup.shutil, "which", lambda _name: "/usr/bin/nvidia-smi")
    monkeypatch.setattr(
        device_setup.subprocess,
        "run",
        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout="570.86.15\n570.86.15\n", stderr=""),
    )
    report = device_setup.device_report(Tf, "/GPU:0")
    assert (report.gpu_name, report.compute_capability, report.driver_version) == (
        "NVIDIA H200",
        "9.0",
        "570.86.15",
    )
    assert (report.cuda_build_version, report.cudnn_build_version, report.gpu_count) == ("12.5.1", "9", 2)
    assert report.describe() == (
        "GPU NVIDIA H200 (compute capability 9.0), 1 of 2 GPUs; driver 570.86.15; "
        "TensorFlow 2.21.0 built with CUDA 12.5.1, cuDNN 9"
    )

    def broken(*_a: Any, **_k: Any) -> Any:
        raise subprocess.TimeoutExpired("nvidia-smi", 5)

    monkeypatch.setattr(device_setup.subprocess, "run", broken)
    assert device_setup.device_report(Tf, "/GPU:0").driver_version is None


class _ModelWith:
    def __init__(self, variables: list[Any]) -> None:
        self.variables = variables


def test_a_model_the_stack_cannot_reproduce_keeps_tensorflow(
    saved_model: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def sigmoid_serve(images: Any) -> Any:  # the same weights, another activation
        activations = np.asarray(images)
        for index, (kernel, bias) in enumerate(zip(*[iter(saved_model.variables)] * 2, strict=True)):
            activations = activations @ kernel.numpy() + bias.numpy()
            if index < 2:
                activations = 1 / (1 + np.exp(-activations))
        return _Eager(activations)

    with caplog.at_level(logging.INFO, logger="azmlinfsrv.scorer"):
        assert model_forward.matching_dense_stack(saved_model, sigmoid_serve) is None
        assert model_forward.matching_dense_stack(_ModelWith([np.zeros((784, 5))]), saved_model.serve) is None
        assert model_forward.matching_dense_stack(object(), saved_model.serve) is None
        assert model_forward.matching_dense_stack(saved_model, saved_model.serve) is not None
    assert "numpy forward not used: logits differ" in caplog.text
    assert "numpy forward not used: 1 variables" in caplog.text


class _Eager:
    """What a TensorFlow call returns, as far as the agreement check reads it."""

    def __init__(self, value: np.ndarray) -> None:
        self.value = value

    def numpy(self) -> np.ndarray:
        return self.value


def test_bad_forward_setting_names_key_and_allowed(tmp_path: Path) -> None:
    with pytest.raises(
        scoring_errors.SettingsError,
        match=r"SCORE_FORWARD: 'numpi' is not allowed \(allowed: auto, tensorflow, routed\)",
    ):
        scoring_settings.ScorerRuntimeSettings.from_env(
            {"AZUREML_MODEL_DIR": str(tmp_path), "SCORE_FORWARD": "numpi"}
        )
    settings = scoring_settings.ScorerRuntimeSettings.from_env(
        {"AZUREML_MODEL_DIR": str(tmp_path), "SCORE_FORWARD": " TensorFlow "}
    )
    assert settings.forward == "tensorflow"


@pytest.mark.slow
def test_load_limits_numpys_blas_pool_to_the_thread_setting(trained_model_dir: Path) -> None:
    # A fresh interpreter, as in a server worker: BLAS would otherwise use every core in every worker.
    program = (
        "import json, os, threadpoolctl\n"
        "import model_service.score, scorer, scoring_settings\n"
        "def blas():\n"
        "    return [p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']\n"
        "before = blas()\n"
        "s = scorer.Scorer(scoring_settings.ScorerRuntimeSettings.from_env(os.environ)); s.load()\n"
        "print(json.dumps([before, blas(), s.forward_name]))\n"
    )
    env = {**os.environ, "AZUREML_MODEL_DIR": str(trained_model_dir), "SCORE_TF_THREADS": "1"}
    env.pop("OPENBLAS_NUM_THREADS", None)
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    before, after, forward = json.loads(done.stdout.strip().splitlines()[-1])
    assert forward == "numpy"
    assert after and set(after) == {1}, f"BLAS pools after load(): {after}"
    if (os.cpu_count() or 1) > 1:
        assert max(before) > 1, f"BLAS started with {before} threads: the test would show nothing"
