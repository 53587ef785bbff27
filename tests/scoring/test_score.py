"""The entry script and its scorer, in process: settings, decoding, devices, the model, HTTP mapping.

The model is the real one `trained_model_dir` trains on scikit-learn's digits; requests are real
Flask requests built by werkzeug, handed to `run()` as azmlinfsrv hands them (`@rawhttp`).
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import body_decoding
import device_setup
import json_decoding
import model_forward
import numpy as np
import pytest
import scorer
import scoring_errors
import scoring_settings
from flask import Request
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder

from model_service import score
from model_tools import mnist

ROOT = Path(__file__).resolve().parents[2]

MAX_BATCH = 16
MAX_BODY = 1_000_000
WARMUP_BATCHES = "1,4"  # the `service` fixture's (conftest.py), with the limits above
JSON_CT = "application/json"
UINT8_CT = "application/octet-stream"
FLOAT32_CT = "application/octet-stream; dtype=float32"


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def held_out(held_out_digits: mnist.Dataset) -> mnist.Dataset:
    return held_out_digits


@pytest.fixture(scope="module")
def model_digits(trained_model_dir: Path) -> Any:
    """Predictions straight from the SavedModel's `serve` endpoint: what the scorer must match."""
    import tensorflow as tf

    model = tf.saved_model.load(str(trained_model_dir))

    def predict(images: np.ndarray) -> np.ndarray:
        return np.argmax(model.serve(tf.constant(images)).numpy(), axis=1)

    return predict


def request(body: bytes = b"", content_type: str | None = JSON_CT, method: str = "POST") -> Request:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    builder = EnvironBuilder(path="/score", method=method, data=body, headers=headers)
    environ = builder.get_environ()
    if content_type is None:
        environ.pop("CONTENT_TYPE", None)
    return Request(environ)


def json_body(images: np.ndarray | list[Any]) -> bytes:
    rows = images.tolist() if isinstance(images, np.ndarray) else images
    return json.dumps({"data": rows}).encode()


def call(service: score.ScoringService, req: Request) -> tuple[int, Any]:
    response = service.run(req)
    assert response.headers["Content-Type"] == "application/json" or response.status_code == 200
    data = response.get_data()
    return response.status_code, json.loads(data) if data else None


# ---------------------------------------------------------------------------------------------
# Settings


def test_settings_defaults_need_only_the_model_dir(tmp_path: Path) -> None:
    settings = scoring_settings.ScorerRuntimeSettings.from_env({"AZUREML_MODEL_DIR": str(tmp_path)})
    assert settings.model_root == tmp_path
    assert settings.max_batch == scoring_settings.DEFAULT_MAX_BATCH
    assert settings.max_body_bytes == scoring_settings.DEFAULT_MAX_BODY_BYTES
    assert settings.warmup_sizes == scoring_settings.DEFAULT_WARMUP_BATCHES


def test_settings_read_from_the_mapping(tmp_path: Path) -> None:
    settings = scoring_settings.ScorerRuntimeSettings.from_env(
        {
            "AZUREML_MODEL_DIR": str(tmp_path),
            "SCORE_MAX_BATCH": "64",
            "SCORE_MAX_BODY_BYTES": "4096",
            "SCORE_WARMUP_BATCHES": "1, 32,64",
            "SCORE_TF_THREADS": "2",
        }
    )
    assert (settings.max_batch, settings.max_body_bytes, settings.warmup_sizes) == (64, 4096, (1, 32, 64))
    assert settings.tf_threads == 2


def test_tensorflow_gets_one_thread_per_worker_by_default(tmp_path: Path) -> None:
    settings = scoring_settings.ScorerRuntimeSettings.from_env({"AZUREML_MODEL_DIR": str(tmp_path)})
    assert settings.tf_threads == 1


def test_default_warmup_sizes_stay_within_the_batch_limit(tmp_path: Path) -> None:
    settings = scoring_settings.ScorerRuntimeSettings.from_env(
        {"AZUREML_MODEL_DIR": str(tmp_path), "SCORE_MAX_BATCH": "100"}
    )
    assert settings.warmup_sizes == (1, 8, 100)  # the fixed sizes it allows, and the limit itself
    assert 256 not in settings.warmup_sizes


@pytest.mark.parametrize(
    ("max_batch", "warmup"),
    [(1, (1,)), (2, (1, 2)), (8, (1, 8)), (9, (1, 8, 9)), (256, (1, 8, 256)), (1024, (1, 8, 256, 1024))],
)
def test_default_warmup_covers_the_largest_allowed_batch(tmp_path: Path, max_batch: int, warmup) -> None:
    settings = scoring_settings.ScorerRuntimeSettings.from_env(
        {"AZUREML_MODEL_DIR": str(tmp_path), "SCORE_MAX_BATCH": str(max_batch)}
    )
    assert settings.warmup_sizes == warmup
    assert (
        scoring_settings.ScorerRuntimeSettings(model_root=tmp_path, max_batch=max_batch).warmup_sizes
        == warmup
    )


def test_gpu_settings_default_to_not_required_and_a_minimum_gpu_batch_of_64(tmp_path: Path) -> None:
    settings = scoring_settings.ScorerRuntimeSettings.from_env({"AZUREML_MODEL_DIR": str(tmp_path)})
    assert (settings.require_gpu, settings.gpu_min_batch) == (False, 64)
    read = scoring_settings.ScorerRuntimeSettings.from_env(
        {"AZUREML_MODEL_DIR": str(tmp_path), "SCORE_REQUIRE_GPU": " TRUE ", "SCORE_GPU_MIN_BATCH": "0"}
    )
    assert (read.require_gpu, read.gpu_min_batch) == (True, 0)
    off = scoring_settings.ScorerRuntimeSettings.from_env(
        {"AZUREML_MODEL_DIR": str(tmp_path), "SCORE_REQUIRE_GPU": "false"}
    )
    assert off.require_gpu is False


@pytest.mark.parametrize(
    ("env", "fragments"),
    [
        ({}, ["AZUREML_MODEL_DIR is not set", "--model_dir"]),
        ({"SCORE_MAX_BATCH": "many"}, ["SCORE_MAX_BATCH", "'many'", "not an integer"]),
        ({"SCORE_MAX_BATCH": "0"}, ["SCORE_MAX_BATCH", "0", "1..65536"]),
        ({"SCORE_MAX_BODY_BYTES": "10"}, ["SCORE_MAX_BODY_BYTES", "10", "1024..1073741824"]),
        ({"SCORE_WARMUP_BATCHES": "1,x"}, ["SCORE_WARMUP_BATCHES", "'1,x'", "comma-separated"]),
        ({"SCORE_MAX_BATCH": "8", "SCORE_WARMUP_BATCHES": "1,256"}, ["SCORE_WARMUP_BATCHES", "256", "1..8"]),
        ({"SCORE_TF_THREADS": "-1"}, ["SCORE_TF_THREADS", "-1", "0..256"]),
        ({"SCORE_REQUIRE_GPU": "yes"}, ["SCORE_REQUIRE_GPU: 'yes' is not allowed", "(allowed: true, false)"]),
        ({"SCORE_REQUIRE_GPU": "1"}, ["SCORE_REQUIRE_GPU", "'1'", "true, false"]),
        ({"SCORE_GPU_MIN_BATCH": "-1"}, ["SCORE_GPU_MIN_BATCH: -1 is not allowed", "0..65536"]),
        ({"SCORE_GPU_MIN_BATCH": "65537"}, ["SCORE_GPU_MIN_BATCH", "65537", "0..65536"]),
        ({"SCORE_GPU_MIN_BATCH": "big"}, ["SCORE_GPU_MIN_BATCH", "'big'", "not an integer"]),
        ({"SCORE_FORWARD": "gpu"}, ["SCORE_FORWARD: 'gpu' is not allowed", "auto, tensorflow, routed"]),
    ],
)
def test_bad_settings_name_key_value_and_allowed(
    tmp_path: Path, env: dict[str, str], fragments: list[str]
) -> None:
    environ = {"AZUREML_MODEL_DIR": str(tmp_path), **env} if env else {}
    with pytest.raises(scoring_errors.SettingsError) as caught:
        scoring_settings.ScorerRuntimeSettings.from_env(environ)
    for fragment in fragments:
        assert fragment in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Content types


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, body_decoding.Encoding.JSON),
        ("application/json", body_decoding.Encoding.JSON),
        ("Application/JSON; charset=UTF-8", body_decoding.Encoding.JSON),
        ("application/octet-stream", body_decoding.Encoding.UINT8),
        ("application/octet-stream; dtype=uint8", body_decoding.Encoding.UINT8),
        ("application/octet-stream; dtype=float32", body_decoding.Encoding.FLOAT32),
        ('application/octet-stream;dtype="float32"', body_decoding.Encoding.FLOAT32),
    ],
)
def test_content_type_selects_the_encoding(header: str | None, expected: body_decoding.Encoding) -> None:
    assert body_decoding.parse_content_type(header) is expected


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("text/plain", "'text/plain' is not supported (allowed: application/json, application/octet-stream"),
        (
            "application/octet-stream; dtype=float64",
            "dtype 'float64' is not supported (allowed: uint8, float32)",
        ),
        ("application/json; charset=latin-1", "charset 'latin-1' is not supported (use utf-8)"),
    ],
)
def test_unknown_content_type_is_415(header: str, fragment: str) -> None:
    with pytest.raises(scoring_errors.UnsupportedMediaType) as caught:
        body_decoding.parse_content_type(header)
    assert caught.value.status == 415
    assert fragment in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Model directory and devices


def _fake_saved_model(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "saved_model.pb").write_bytes(b"")
    return directory


def test_model_dir_is_found_directly_or_below_the_root(tmp_path: Path) -> None:
    assert model_forward.find_model_dir(_fake_saved_model(tmp_path / "direct")) == tmp_path / "direct"
    nested = _fake_saved_model(tmp_path / "root" / "mnist-model" / "3")
    assert model_forward.find_model_dir(tmp_path / "root") == nested


def test_model_dir_without_or_with_two_saved_models_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("not a model")
    with pytest.raises(
        scoring_errors.ModelLoadError, match=r"no saved_model\.pb under AZUREML_MODEL_DIR=.*readme\.txt"
    ):
        model_forward.find_model_dir(tmp_path)
    _fake_saved_model(tmp_path / "a")
    _fake_saved_model(tmp_path / "b")
    with pytest.raises(scoring_errors.ModelLoadError, match="2 SavedModels under"):
        model_forward.find_model_dir(tmp_path)
    with pytest.raises(scoring_errors.ModelLoadError, match="is not a directory"):
        model_forward.find_model_dir(tmp_path / "missing")


def test_devices_on_this_machine_are_the_cpu() -> None:
    import tensorflow as tf

    assert not tf.config.list_physical_devices("GPU"), "this test describes the CPU-only machine"
    assert device_setup.configure_devices(tf.config) == "/CPU:0"


@pytest.mark.slow
def test_load_sizes_tensorflows_thread_pools_before_it_starts_them(trained_model_dir: Path) -> None:
    # A fresh interpreter, as in a server worker: here TensorFlow has run already in this process.
    program = (
        "import os, tensorflow as tf\n"
        "import model_service.score, scorer, scoring_settings, device_setup\n"
        "s = scorer.Scorer(scoring_settings.ScorerRuntimeSettings.from_env(os.environ)); s.load()\n"
        "print(tf.config.threading.get_intra_op_parallelism_threads(),"
        " tf.config.threading.get_inter_op_parallelism_threads())\n"
    )
    env = {**os.environ, "AZUREML_MODEL_DIR": str(trained_model_dir), "SCORE_TF_THREADS": "3"}
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split()[-2:] == ["3", "3"]


class _FakeGpuConfig:
    """A stand-in for `tf.config` on a machine with GPUs (there is no GPU here): records calls."""

    def __init__(self, gpus: list[str], fail: bool = False) -> None:
        self.gpus = gpus
        self.fail = fail
        self.growth: list[tuple[str, bool]] = []
        self.experimental = self

    def list_physical_devices(self, kind: str) -> list[str]:
        return self.gpus if kind == "GPU" else []

    def set_memory_growth(self, device: str, enable: bool) -> None:
        if self.fail:
            raise RuntimeError("Physical devices cannot be modified after being initialized")
        self.growth.append((device, enable))


def test_devices_with_gpus_turn_on_memory_growth_for_each() -> None:
    config = _FakeGpuConfig(["GPU:0", "GPU:1"])
    assert device_setup.configure_devices(config) == "/GPU:0"
    assert config.growth == [("GPU:0", True), ("GPU:1", True)]


def test_devices_already_initialised_still_use_the_gpu_and_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="azmlinfsrv.scorer"):
        assert device_setup.configure_devices(_FakeGpuConfig(["GPU:0"], fail=True)) == "/GPU:0"
    assert "could not turn on memory growth for GPU:0" in caplog.text


# ---------------------------------------------------------------------------------------------
# The scorer with the real model


def test_scorer_is_not_ready_before_load(trained_model_dir: Path) -> None:
    unloaded = scorer.Scorer(scoring_settings.ScorerRuntimeSettings(model_root=trained_model_dir))
    assert not unloaded.ready
    with pytest.raises(scoring_errors.NotReady):
        unloaded.predict(np.zeros((1, 784), np.float32))


def test_ready_turns_true_only_after_the_warm_up_has_run(
    trained_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    candidate = scorer.Scorer(
        scoring_settings.ScorerRuntimeSettings(model_root=trained_model_dir, warmup_batches=(1, 4))
    )
    calls: list[tuple[int, str, bool]] = []  # (batch, dtype, ready) at each forward call
    real_load_forward = scorer.load_forward

    def recording_load_forward(*args: Any, **kwargs: Any) -> Any:
        forward = real_load_forward(*args, **kwargs)

        class Recording:
            name = forward.name

            def digits(self, images: np.ndarray) -> np.ndarray:
                calls.append((len(images), images.dtype.name, candidate.ready))
                return forward.digits(images)

        return Recording()

    monkeypatch.setattr(scorer, "load_forward", recording_load_forward)
    candidate.load()
    warm_up = list(calls)
    candidate.predict(np.zeros((2, 784), np.uint8))

    assert sorted(warm_up) == sorted((n, dtype, False) for n in (1, 4) for dtype in ("uint8", "float32"))
    assert candidate.ready and calls[len(warm_up) :] == [(2, "uint8", True)]


def test_scorer_loads_on_the_cpu_and_predicts_real_digits(
    service: score.ScoringService, held_out: mnist.Dataset, model_digits: Any
) -> None:
    loaded = service.scorer
    assert loaded is not None and loaded.ready and loaded.device == "/CPU:0"
    images = mnist.to_model_input(held_out.images)
    digits = loaded.predict(images)
    assert digits.dtype == np.int32 and digits.shape == (len(held_out),)
    np.testing.assert_array_equal(digits, model_digits(images))
    assert np.mean(digits == held_out.labels) >= 0.9


def test_uint8_float32_and_json_bodies_give_the_same_digits(
    service: score.ScoringService, held_out: mnist.Dataset
) -> None:
    pixels = held_out.images[:MAX_BATCH].reshape(MAX_BATCH, 784)
    images = mnist.to_model_input(held_out.images[:MAX_BATCH])
    from_json = call(service, request(json_body(images)))
    from_uint8 = call(service, request(pixels.tobytes(), UINT8_CT))
    from_float32 = call(service, request(images.astype("<f4").tobytes(), FLOAT32_CT))
    without_header = call(service, request(json_body(images), content_type=None))
    assert from_json[0] == 200
    assert from_json == from_uint8 == from_float32 == without_header
    assert np.mean(np.array(from_json[1]) == held_out.labels[:MAX_BATCH]) >= 0.75


def test_score_returns_a_json_list_of_ints(service: score.ScoringService, held_out: mnist.Dataset) -> None:
    response = service.run(request(held_out.images[:3].tobytes(), UINT8_CT))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    digits = json.loads(response.get_data())
    assert len(digits) == 3 and all(isinstance(d, int) and 0 <= d <= 9 for d in digits)


def test_load_without_serve_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    import tensorflow as tf

    tf.saved_model.save(tf.Module(), str(tmp_path / "model"))
    broken = scorer.Scorer(scoring_settings.ScorerRuntimeSettings(model_root=tmp_path))
    with pytest.raises(scoring_errors.ModelLoadError, match="has no 'serve' endpoint"):
        broken.load()
    assert not broken.ready


def test_load_of_a_damaged_saved_model_is_a_clear_error(tmp_path: Path) -> None:
    _fake_saved_model(tmp_path / "model").joinpath("saved_model.pb").write_bytes(b"garbage")
    with pytest.raises(scoring_errors.ModelLoadError, match="cannot load the SavedModel in"):
        scorer.Scorer(scoring_settings.ScorerRuntimeSettings(model_root=tmp_path)).load()


# ---------------------------------------------------------------------------------------------
# Bad input: every case is a 4xx with a message naming the problem


def _zeros(rows: int) -> list[list[float]]:
    return [[0.0] * 784 for _ in range(rows)]


def _with(value: Any, row: int = 0, col: int = 5) -> list[list[Any]]:
    rows: list[list[Any]] = _zeros(2)
    rows[row][col] = value
    return rows


BAD_JSON = [
    pytest.param(b'{"data": [[0.0, 0.1', 400, "body is not valid JSON", id="malformed"),
    pytest.param(b"", 400, "body is not valid JSON", id="empty-body"),
    pytest.param(b"[[0.0]]", 400, "body is a list of 1, not a JSON object", id="not-an-object"),
    pytest.param(b'{"images": [[0.0]]}', 400, "missing key 'data' (got keys ['images'])", id="missing-data"),
    pytest.param(json_body(_zeros(1))[:-1] + b', "x": 1}', 400, "unexpected key(s) ['x']", id="extra-key"),
    pytest.param(
        b'{"data": "0.5"}', 400, "'data' is the string '0.5', not a list of images", id="data-string"
    ),
    pytest.param(b'{"data": []}', 400, "empty batch", id="empty-batch"),
    pytest.param(
        json_body(_zeros(MAX_BATCH + 1)), 400, "batch of 17 images is over the maximum of 16", id="batch"
    ),
    pytest.param(
        json_body([0.0] * 784), 400, "data[0] is the number 0.0, not a list of 784 numbers (wrap", id="flat"
    ),
    pytest.param(json_body([[0.0] * 783]), 400, "data[0] has 783 values; every image is 784", id="short-row"),
    pytest.param(json_body([[0.0] * 784, [0.0] * 10]), 400, "data[1] has 10 values", id="ragged"),
    pytest.param(
        json_body([[[0.0]] * 784]), 400, "data[0][0] is a list of 1; pixels are JSON numbers", id="nested"
    ),
    pytest.param(
        json_body(_with("0.5")), 400, "data[0][5] is the string '0.5'; pixels are JSON numbers", id="str"
    ),
    pytest.param(json_body(_with(True, 1)), 400, "data[1][5] is the boolean true", id="bool"),
    pytest.param(json_body(_with(None)), 400, "data[0][5] is null", id="null"),
    pytest.param(json_body(_with({})), 400, "data[0][5] is an object", id="object"),
    pytest.param(b'{"data": [[NaN]]}', 400, "body is not valid JSON", id="nan-literal"),
    pytest.param(json_body(_with(1e39, 1, 7)), 400, "data[1][7] is inf: pixels are finite numbers", id="inf"),
    pytest.param(json_body(_with(255, 0, 3)), 400, "data[0][3] is 255, outside 0..1: scale", id="unscaled"),
    pytest.param(json_body(_with(-0.5)), 400, "data[0][5] is -0.5, outside 0..1", id="negative"),
]


@pytest.mark.parametrize(("body", "status", "fragment"), BAD_JSON)
def test_bad_json_is_a_4xx_naming_the_problem(
    service: score.ScoringService, body: bytes, status: int, fragment: str
) -> None:
    code, payload = call(service, request(body))
    assert code == status
    assert fragment in payload["message"]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=2)
    ),
    max_leaves=5,
)


def _is_valid_pixel(value: object) -> bool:
    with np.errstate(over="ignore"):
        return type(value) in (int, float) and 0.0 <= np.float32(value) <= 1.0


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 783), JSON_VALUES), min_size=1, max_size=4),
)
def test_json_decoding_accepts_exactly_batches_of_valid_pixels(changes: list[tuple[int, int, Any]]) -> None:
    rows: list[list[Any]] = _zeros(3)
    for row, col, value in changes:
        rows[row][col] = value
    body = json.dumps({"data": rows}).encode()
    if all(_is_valid_pixel(value) for row in rows for value in row):
        images = json_decoding.decode_json(body, MAX_BATCH)
        np.testing.assert_array_equal(images, np.array(rows, dtype=np.float32))
    else:
        with pytest.raises(scoring_errors.InvalidInput):
            json_decoding.decode_json(body, MAX_BATCH)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4 * 3136 + 7), st.sampled_from(list(body_decoding.Encoding)))
def test_any_body_decodes_to_model_input_or_is_refused(body: bytes, encoding: body_decoding.Encoding) -> None:
    try:
        images = body_decoding.decode_body(body, encoding, MAX_BATCH)
    except scoring_errors.InvalidInput:
        return
    assert images.ndim == 2 and images.shape[1] == 784 and 1 <= len(images) <= MAX_BATCH
    if images.dtype != np.uint8:
        assert images.dtype == np.float32 and np.all((images >= 0) & (images <= 1))


NAN_FLOAT32 = np.zeros((1, 784), "<f4")
NAN_FLOAT32[0, 9] = np.nan

BAD_BINARY = [
    pytest.param(b"", UINT8_CT, "empty batch: the body holds no images (784 bytes of uint8", id="u8-empty"),
    pytest.param(bytes(785), UINT8_CT, "body has 785 bytes, not a multiple of 784", id="u8-length"),
    pytest.param(bytes(784 * 17), UINT8_CT, "batch of 17 images is over the maximum of 16", id="u8-batch"),
    pytest.param(bytes(3136 + 4), FLOAT32_CT, "body has 3140 bytes, not a multiple of 3136", id="f32-length"),
    pytest.param(bytes(784), FLOAT32_CT, "body has 784 bytes, not a multiple of 3136", id="u8-sent-as-f32"),
    pytest.param(NAN_FLOAT32.tobytes(), FLOAT32_CT, "image 0, pixel 9 is nan", id="f32-nan"),
    pytest.param(
        (NAN_FLOAT32 * 0 + 3).tobytes(), FLOAT32_CT, "image 0, pixel 0 is 3, outside 0..1", id="f32-range"
    ),
]


@pytest.mark.parametrize(("body", "content_type", "fragment"), BAD_BINARY)
def test_bad_binary_is_400_naming_the_problem(
    service: score.ScoringService, body: bytes, content_type: str, fragment: str
) -> None:
    code, payload = call(service, request(body, content_type))
    assert code == 400
    assert fragment in payload["message"]


def test_unknown_content_type_over_http_is_415(service: score.ScoringService) -> None:
    code, payload = call(service, request(b"hello", "text/plain"))
    assert code == 415
    assert "'text/plain' is not supported" in payload["message"]


def test_get_is_405_with_allow_header(service: score.ScoringService) -> None:
    response = service.run(request(method="GET", content_type=None))
    assert response.status_code == 405
    assert response.headers.getlist("Allow") == ["POST", "OPTIONS"]
    assert "method GET is not allowed on /score (allowed: POST)" in json.loads(response.get_data())["message"]


def test_options_is_answered_for_cors_preflight(service: score.ScoringService) -> None:
    response = service.run(request(method="OPTIONS", content_type=None))
    assert response.status_code == 200
    assert response.headers.getlist("Allow") == ["POST", "OPTIONS"]


def test_declared_body_over_the_limit_is_413_without_reading_it(service: score.ScoringService) -> None:
    class Unreadable(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, _buffer: Any) -> int:
            raise AssertionError("the body was read although its declared length is over the limit")

    environ = EnvironBuilder(path="/score", method="POST", headers={"Content-Type": UINT8_CT}).get_environ()
    environ["CONTENT_LENGTH"] = str(MAX_BODY + 1)
    environ["wsgi.input"] = Unreadable()
    code, payload = call(service, Request(environ))
    assert code == 413
    assert f"body of {MAX_BODY + 1} bytes is over the limit of {MAX_BODY} bytes" in payload["message"]


def test_chunked_body_over_the_limit_is_413(service: score.ScoringService) -> None:
    environ = EnvironBuilder(path="/score", method="POST", headers={"Content-Type": UINT8_CT}).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(bytes(MAX_BODY + 784))
    environ["wsgi.input_terminated"] = True  # what gunicorn sets for a chunked request
    code, payload = call(service, Request(environ))
    assert code == 413
    assert f"over the limit of {MAX_BODY} bytes (SCORE_MAX_BODY_BYTES)" in payload["message"]


def test_chunked_body_within_the_limit_is_scored(
    service: score.ScoringService, held_out: mnist.Dataset
) -> None:
    environ = EnvironBuilder(path="/score", method="POST", headers={"Content-Type": UINT8_CT}).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(held_out.images[:2].tobytes())
    environ["wsgi.input_terminated"] = True
    code, payload = call(service, Request(environ))
    assert code == 200 and len(payload) == 2


def test_run_before_init_is_503() -> None:
    code, payload = call(score.ScoringService(), request(json_body(_zeros(1))))
    assert code == 503
    assert payload["message"] == "the model is not loaded yet"


def test_init_with_a_bad_setting_fails_before_loading(tmp_path: Path) -> None:
    with pytest.raises(scoring_errors.SettingsError, match="SCORE_MAX_BATCH: 'lots' is not an integer"):
        score.ScoringService().init({"AZUREML_MODEL_DIR": str(tmp_path), "SCORE_MAX_BATCH": "lots"})


# ---------------------------------------------------------------------------------------------
# The image's environment


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        name, _, version = line.strip().removeprefix("- ").partition("==")
        if version:
            pins[name.split("[")[0].lower()] = version.strip()
    return pins


def test_environment_yml_has_the_scoring_pins_with_tensorflow_and_cuda() -> None:
    service_dir = Path(score.__file__).parent
    environment = (service_dir / "environment.yml").read_text()
    requirements = (service_dir / "requirements.txt").read_text()
    code_lines = [line for line in environment.splitlines() if not line.lstrip().startswith("#")]
    # The image alone carries TensorFlow's CUDA wheels, pinned (tests/azure/test_azure_environment.py).
    image_pins = {name: pin for name, pin in _pins(code_lines).items() if not name.startswith("nvidia-")}
    assert image_pins == _pins(
        [line for line in requirements.splitlines() if not line.lstrip().startswith("#")]
    )
    assert "tensorflow[and-cuda]==" in environment
    assert "tensorflow-gpu" not in "\n".join(code_lines)
    assert "- python=3.11" in environment
    base_images = [line for line in environment.splitlines() if "mcr.microsoft.com/azureml/" in line]
    assert base_images and all(":latest" not in line for line in base_images)
    assert any("cuda12" in line and "ubuntu22.04:" in line for line in base_images)


_ROW = [0.5] * 784


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            json.dumps({"data": [[[0.5] * 784, *[0.5] * 783], 0.5]}).encode(),
            "a nested list the flat count hides",
        ),
        (b"\xef\xbb\xbf" + json.dumps({"data": [_ROW]}).encode(), "a byte order mark"),
        (json.dumps({"data": [[2**70, *_ROW[1:]]]}).encode(), "a big integer"),
        (json.dumps({"data": [_ROW[:-1]]}).encode(), "a short row"),
        (json.dumps({"data": [[1.5, *_ROW[1:]]]}).encode(), "a value outside 0..1"),
    ],
)
def test_the_fast_json_path_leaves_every_doubtful_body_to_the_strict_one(body: bytes, why: str) -> None:
    assert json_decoding.decode_valid_json_fast(body, MAX_BATCH) is None, why
    with pytest.raises(scoring_errors.InvalidInput):
        json_decoding.decode_json(body, MAX_BATCH)


def test_the_fast_json_path_decodes_a_valid_batch_as_the_strict_one_would() -> None:
    rows = [[(i * 7 + j) % 256 / 255.0 for j in range(784)] for i in range(3)]
    body = json.dumps({"data": rows}).encode()
    fast = json_decoding.decode_valid_json_fast(body, MAX_BATCH)
    assert fast is not None
    np.testing.assert_array_equal(fast, np.asarray(rows, dtype=np.float32))
    assert json_decoding.decode_valid_json_fast(body, max_batch=2) is None  # over the limit: strict explains


def test_a_duplicate_key_is_left_to_the_strict_path_which_keeps_the_last() -> None:
    body = json.dumps({"data": [_ROW]}).encode().replace(b"{", b'{"data": [[1]], ', 1)
    assert json_decoding.decode_valid_json_fast(body, MAX_BATCH) is None
    np.testing.assert_array_equal(
        json_decoding.decode_json(body, MAX_BATCH), np.asarray([_ROW], dtype=np.float32)
    )


def test_the_reused_json_parser_decodes_one_batch_after_another_and_after_refusals() -> None:
    first = [[(i + j) % 256 / 255.0 for j in range(784)] for i in range(2)]
    second = [[(i * 3 + j) % 256 / 255.0 for j in range(784)] for i in range(5)]
    bodies = [json.dumps({"data": rows}).encode() for rows in (first, second)]
    refused = json.dumps({"data": [_ROW[:-1]]}).encode()  # parsed, then refused mid-way
    broken = b'{"data": [[0.5, '  # refused by the parser itself
    for _ in range(3):
        for body, rows in zip(bodies, (first, second), strict=True):
            assert json_decoding.decode_valid_json_fast(refused, MAX_BATCH) is None
            assert json_decoding.decode_valid_json_fast(broken, MAX_BATCH) is None
            fast = json_decoding.decode_valid_json_fast(body, MAX_BATCH)
            assert fast is not None, "the reused parser must take the next valid batch"
            np.testing.assert_array_equal(fast, np.asarray(rows, dtype=np.float32))


def test_each_thread_has_its_own_json_parser_and_big_bodies_get_a_new_one() -> None:
    import threading

    mine = json_decoding.json_parser(100)
    assert json_decoding.json_parser(100) is mine
    assert json_decoding.json_parser(json_decoding.REUSED_PARSER_MAX_BYTES + 1) is not mine
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.append(json_decoding.json_parser(100)))
    worker.start()
    worker.join()
    assert seen and seen[0] is not mine


def test_logging_config_is_the_servers_own_with_gunicorns_access_line_silenced() -> None:
    # azmlinfsrv replaces its whole logging config with model_service/logging.json: any difference
    # beyond the one level would drop a handler or filter the installed server relies on.
    import azureml_inference_server_http

    servers = json.loads((Path(azureml_inference_server_http.__file__).with_name("logging.json")).read_text())
    ours = json.loads((ROOT / "model_service" / "logging.json").read_text())
    assert ours["loggers"]["gunicorn.access"]["level"] == "WARNING"
    servers["loggers"]["gunicorn.access"]["level"] = "WARNING"
    assert ours == servers
    for name in ("azmlinfsrv", "gunicorn.error"):  # readiness ("init has completed") and errors
        assert ours["loggers"][name]["level"] == "INFO"


def test_the_benchs_entry_scripts_log_as_the_service_does() -> None:
    # The constant floor must pay the same per-request log lines as our scorer (azmlinfsrv loads a
    # logging.json beside the entry script): with the server's default config it would also write
    # gunicorn's access line, a floor lower than the server's and a ratio flattering ours.
    variants_config = ROOT / "bench" / "variants" / "logging.json"
    assert variants_config.resolve() == (ROOT / "model_service" / "logging.json").resolve()
