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

from model_service import mnist

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
        scoring_settings.ScorerSettings(model_root=model_dir, warmup_batches=(1,), **settings)
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


def test_on_a_gpu_the_scorer_keeps_the_tensorflow_forward(
    trained_model_dir: Path, held_out_pixels: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No GPU here: the device choice is the GPU's, and TensorFlow's soft placement runs it on the CPU.
    monkeypatch.setattr(scorer, "configure_devices", lambda _config: "/GPU:0")
    on_gpu = loaded_scorer(trained_model_dir)
    assert (on_gpu.device, on_gpu.forward_name) == ("/GPU:0", "tensorflow")
    on_cpu = loaded_scorer(trained_model_dir)
    monkeypatch.undo()
    np.testing.assert_array_equal(on_gpu.predict(held_out_pixels), on_cpu.predict(held_out_pixels))


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
        match=r"SCORE_FORWARD: 'numpi' is not allowed \(allowed: auto, tensorflow\)",
    ):
        scoring_settings.ScorerSettings.from_env(
            {"AZUREML_MODEL_DIR": str(tmp_path), "SCORE_FORWARD": "numpi"}
        )
    settings = scoring_settings.ScorerSettings.from_env(
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
        "s = scorer.Scorer(scoring_settings.ScorerSettings.from_env(os.environ)); s.load()\n"
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
