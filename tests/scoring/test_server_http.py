"""The entry script inside a real azmlinfsrv, over real HTTP: good input, every bad input, and the
server still serving afterwards. One server for the module (TensorFlow's start-up costs seconds)."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest

from harness.server import ENTRY_SCRIPT, InferenceServer, NotHealthy
from model_tools import mnist

pytestmark = pytest.mark.slow

MAX_BATCH = 32
MAX_BODY = 300_000
JSON_CT = "application/json"
UINT8_CT = "application/octet-stream"
FLOAT32_CT = "application/octet-stream; dtype=float32"


@pytest.fixture(scope="module")
def held_out(held_out_digits: mnist.Dataset) -> mnist.Dataset:
    return held_out_digits.subset(np.arange(MAX_BATCH))


@pytest.fixture(scope="module")
def server(trained_model_dir: Path) -> Iterator[InferenceServer]:
    process = InferenceServer(
        ENTRY_SCRIPT,
        trained_model_dir,
        workers=1,
        env={"SCORE_MAX_BATCH": str(MAX_BATCH), "SCORE_MAX_BODY_BYTES": str(MAX_BODY)},
    )
    try:
        process.start()
        yield process
    finally:
        process.close()


class Reply:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = response.headers
        self.body = response.read()

    def json(self) -> Any:
        assert self.headers.get("Content-Type") == "application/json", self.headers
        return json.loads(self.body)


def send(
    server: InferenceServer,
    body: bytes | None = None,
    content_type: str | None = JSON_CT,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    path: str = "/score",
) -> Reply:
    url = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        all_headers = dict(headers or {})
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        connection.request(method, path, body=body, headers=all_headers)
        return Reply(connection.getresponse())
    finally:
        connection.close()


def json_body(rows: Any) -> bytes:
    return json.dumps({"data": rows.tolist() if isinstance(rows, np.ndarray) else rows}).encode()


@pytest.fixture(scope="module")
def expected(server: InferenceServer, held_out: mnist.Dataset) -> list[int]:
    """The server's digits for the held-out images, checked against the labels once."""
    reply = send(server, json_body(mnist.to_model_input(held_out.images)))
    assert reply.status == 200, reply.body
    digits = reply.json()
    assert np.mean(np.array(digits) == held_out.labels) >= 0.9, (digits, held_out.labels.tolist())
    return digits


def assert_still_serving(server: InferenceServer, held_out: mnist.Dataset, expected: list[int]) -> None:
    reply = send(server, held_out.images[:4].tobytes(), UINT8_CT)
    assert reply.status == 200, reply.body
    assert reply.json() == expected[:4]


# ---------------------------------------------------------------------------------------------
# Good input


def test_health_probe(server: InferenceServer) -> None:
    reply = send(server, method="GET", content_type=None, path="/")
    assert (reply.status, reply.body) == (200, b"Healthy")


def test_json_predicts_real_digits(expected: list[int], held_out: mnist.Dataset) -> None:
    assert len(expected) == len(held_out) == MAX_BATCH
    assert all(isinstance(digit, int) and 0 <= digit <= 9 for digit in expected)


def test_binary_uint8_and_float32_agree_with_json(
    server: InferenceServer, held_out: mnist.Dataset, expected: list[int]
) -> None:
    uint8 = send(server, held_out.images.tobytes(), UINT8_CT)
    float32 = send(server, mnist.to_model_input(held_out.images).astype("<f4").tobytes(), FLOAT32_CT)
    assert (uint8.status, float32.status) == (200, 200)
    assert uint8.json() == float32.json() == expected


def test_json_without_content_type_and_single_image(
    server: InferenceServer, held_out: mnist.Dataset, expected: list[int]
) -> None:
    reply = send(server, json_body(mnist.to_model_input(held_out.images[:1])), content_type=None)
    assert reply.status == 200 and reply.json() == expected[:1]


def test_one_log_line_per_request_from_the_entry_scripts_logging_config(
    server: InferenceServer, held_out: mnist.Dataset
) -> None:
    # model_service/logging.json silences gunicorn's access line, which repeats azmlinfsrv's own
    # request line (method, path, status, size), and keeps that one, with its latency.
    reply = send(server, json_body(mnist.to_model_input(held_out.images[:1])))
    assert reply.status == 200
    logs = server.logs()
    assert f"Loaded logging config from {ENTRY_SCRIPT.with_name('logging.json')}" in logs
    assert re.search(r"azmlinfsrv - POST /score 200 [\d.]+ms \d+", logs)
    assert "gunicorn.access" not in logs


def test_worker_logged_the_device_and_warm_up(server: InferenceServer) -> None:
    # SCORE_MAX_BATCH=32 leaves the default warm-up sizes (1, 8, 256, the limit) at 1, 8 and 32; on
    # a CPU the numpy forward, loaded beside score.py by path as azmlinfsrv loads it, matched
    # TensorFlow's. SCORE_REQUIRE_GPU is unset (false): the CPU serves.
    assert (
        "loaded on /CPU:0 (TensorFlow 2.21.0); forward: numpy; warmed at batch sizes [1, 8, 32]"
        in server.logs()
    )


# ---------------------------------------------------------------------------------------------
# Bad input: status, message, and the server keeps serving


def _zeros(rows: int) -> list[list[float]]:
    return [[0.0] * 784 for _ in range(rows)]


def _with(value: Any, col: int = 5) -> list[list[Any]]:
    rows: list[list[Any]] = _zeros(1)
    rows[0][col] = value
    return rows


BAD = [
    pytest.param(b'{"data": [[0.0,', JSON_CT, 400, "body is not valid JSON", id="malformed-json"),
    pytest.param(
        b'{"pixels": []}', JSON_CT, 400, "missing key 'data' (got keys ['pixels'])", id="missing-data"
    ),
    pytest.param(
        json_body([[0.0] * 700]), JSON_CT, 400, "data[0] has 700 values; every image is 784", id="shape"
    ),
    pytest.param(json_body([[0.0] * 784, [0.0] * 3]), JSON_CT, 400, "data[1] has 3 values", id="ragged"),
    pytest.param(json_body(_with("0.5")), JSON_CT, 400, "data[0][5] is the string '0.5'", id="string"),
    pytest.param(json_body(_with(1e300)), JSON_CT, 400, "data[0][5] is inf: pixels are finite", id="inf"),
    pytest.param(b'{"data": [[NaN]]}', JSON_CT, 400, "body is not valid JSON", id="nan"),
    pytest.param(json_body(_with(255)), JSON_CT, 400, "data[0][5] is 255, outside 0..1", id="unscaled"),
    pytest.param(b'{"data": []}', JSON_CT, 400, "empty batch", id="empty-batch"),
    pytest.param(
        json_body(_zeros(MAX_BATCH + 1)),
        JSON_CT,
        400,
        "batch of 33 images is over the maximum of 32",
        id="batch",
    ),
    pytest.param(bytes(MAX_BODY + 784), UINT8_CT, 413, f"over the limit of {MAX_BODY} bytes", id="body-size"),
    pytest.param(b"7", "text/plain", 415, "Content-Type 'text/plain' is not supported", id="content-type"),
    pytest.param(bytes(1000), UINT8_CT, 400, "body has 1000 bytes, not a multiple of 784", id="uint8-length"),
    pytest.param(bytes(3136 * 2 - 1), FLOAT32_CT, 400, "not a multiple of 3136", id="float32-length"),
    pytest.param(
        np.full(784, np.nan, "<f4").tobytes(), FLOAT32_CT, 400, "image 0, pixel 0 is nan", id="float32-nan"
    ),
    pytest.param(b"", UINT8_CT, 400, "empty batch", id="uint8-empty"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "fragment"), BAD)
def test_bad_input_is_a_4xx_and_the_server_keeps_serving(
    server: InferenceServer,
    held_out: mnist.Dataset,
    expected: list[int],
    body: bytes,
    content_type: str,
    status: int,
    fragment: str,
) -> None:
    reply = send(server, body, content_type)
    assert reply.status == status, reply.body
    assert fragment in reply.json()["message"]
    assert_still_serving(server, held_out, expected)


def test_get_on_score_is_405(server: InferenceServer, held_out: mnist.Dataset, expected: list[int]) -> None:
    reply = send(server, method="GET", content_type=None)
    assert reply.status == 405
    assert "method GET is not allowed on /score (allowed: POST)" in reply.json()["message"]
    assert reply.headers.get_all("Allow") == ["POST", "OPTIONS"]
    assert_still_serving(server, held_out, expected)


def test_declared_oversize_body_is_refused_before_it_is_sent(
    server: InferenceServer, held_out: mnist.Dataset, expected: list[int]
) -> None:
    """Content-Length over the limit gets its 413 although the body never arrives."""
    url = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.putrequest("POST", "/score")
        connection.putheader("Content-Type", UINT8_CT)
        connection.putheader("Content-Length", str(50 * 1024 * 1024))
        connection.endheaders()  # and no body
        reply = Reply(connection.getresponse())
    finally:
        connection.close()
    assert reply.status == 413
    assert (
        f"body of {50 * 1024 * 1024} bytes is over the limit of {MAX_BODY} bytes" in reply.json()["message"]
    )
    assert_still_serving(server, held_out, expected)


def test_chunked_body_is_scored_and_oversize_chunked_is_413(
    server: InferenceServer, held_out: mnist.Dataset, expected: list[int]
) -> None:
    def chunks(data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), 784):
            yield data[start : start + 784]

    url = urlsplit(server.base_url)
    for body, status in ((held_out.images[:4].tobytes(), 200), (bytes(MAX_BODY + 784), 413)):
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            connection.request(
                "POST", "/score", body=chunks(body), headers={"Content-Type": UINT8_CT}, encode_chunked=True
            )
            reply = Reply(connection.getresponse())
        finally:
            connection.close()
        assert reply.status == status, reply.body
        if status == 200:
            assert reply.json() == expected[:4]
        else:
            assert "over the limit" in reply.json()["message"]
    assert_still_serving(server, held_out, expected)


# ---------------------------------------------------------------------------------------------
# Start-up failure


def test_init_failure_stops_the_server_with_a_clear_log(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no model here")
    process = InferenceServer(ENTRY_SCRIPT, tmp_path)
    try:
        with pytest.raises(NotHealthy, match="exited with code") as caught:
            process.start(timeout=180)
    finally:
        process.close()
    assert "no saved_model.pb under AZUREML_MODEL_DIR=" in str(caught.value)


def test_a_required_gpu_that_is_missing_stops_the_server_naming_what_is_missing(
    trained_model_dir: Path,
) -> None:
    process = InferenceServer(ENTRY_SCRIPT, trained_model_dir, env={"SCORE_REQUIRE_GPU": "true"})
    try:
        with pytest.raises(NotHealthy, match="exited with code") as caught:
            process.start(timeout=180)
    finally:
        process.close()
    message = str(caught.value)
    assert "SCORE_REQUIRE_GPU=true but no GPU is visible to TensorFlow" in message, message
    assert "CUDA_VISIBLE_DEVICES" in message and "nvidia-smi" in message and "libcuda" in message


def test_a_routed_forward_serves_both_paths_over_http(
    trained_model_dir: Path, held_out: mnist.Dataset
) -> None:
    # SCORE_FORWARD=routed builds the GPU's routed forward on this CPU: 4 images or more go to TensorFlow.
    env = {"SCORE_FORWARD": "routed", "SCORE_GPU_MIN_BATCH": "4", "SCORE_MAX_BATCH": str(MAX_BATCH)}
    process = InferenceServer(ENTRY_SCRIPT, trained_model_dir, env=env)
    try:
        process.start(timeout=180)
        replies = {n: send(process, held_out.images[:n].tobytes(), UINT8_CT) for n in (1, 3, 4, MAX_BATCH)}
        logs = process.logs()
    finally:
        process.close()
    for n, reply in replies.items():
        assert reply.status == 200, reply.body
        assert len(reply.json()) == n
    assert replies[MAX_BATCH].json()[:4] == replies[4].json()
    assert replies[4].json()[:3] == replies[3].json()
    assert (
        "forward: routed (numpy below 4 images, tensorflow from 4); warmed at batch sizes [1, 8, 32]" in logs
    )
