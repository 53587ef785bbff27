"""The client (model_tools/client.py): request encoding, answers, errors, exit codes, reports.

Two kinds of peer:
- the real azmlinfsrv running model_service/score.py with the trained model (`slow` tests):
  the sample query, batch accuracy, and a real 4xx from the scorer carried into the error;
- `_TestPeer`, a small stdlib `http.server` on a free port. It is a real HTTP peer over a real
  socket, used because the local azmlinfsrv has no authentication and never answers 401/403 or
  a deliberate 500, and those paths (an AKS service with a wrong key, a crashing service) are
  exactly what the client has to explain. It also records the headers the client sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import numpy as np
import pytest

from model_tools import client, client_request, mnist
from model_tools.client_request import AuthenticationFailed, BadResponse, ServiceError, ServiceUnreachable

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_KEY = "test-key-0123456789"


def _images(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(count, 28, 28), dtype=np.uint8)


# --- request and answer ------------------------------------------------------------------------


def test_request_is_the_howtos_json_with_exactly_the_training_pixels():
    images = _images(3)
    images[0, 0, :3] = [0, 1, 255]  # the extremes of the lookup table

    body = json.loads(client_request.encode_request(images))

    assert list(body) == ["data"]
    sent = np.array(body["data"], dtype=np.float64).astype(np.float32)
    assert sent.shape == (3, 784)
    np.testing.assert_array_equal(sent, mnist.to_model_input(images))


@pytest.mark.parametrize("body", [b"[3, 0, 9]", b'"[3, 0, 9]"'], ids=["list", "json-string-of-list"])
def test_answer_is_a_list_of_digits(body: bytes):
    np.testing.assert_array_equal(client_request.decode_response(body, expected=3), [3, 0, 9])


@pytest.mark.parametrize(
    "body",
    [b"[3, 0]", b"[3, 0, 10]", b"[3, 0, -1]", b"[3, 0, 1.5]", b"[3, 0, true]", b'{"result": [1]}', b"<html>"],
)
def test_answer_that_is_not_one_digit_per_image_is_refused(body: bytes):
    with pytest.raises(BadResponse, match="the service answered"):
        client_request.decode_response(body, expected=3)


# --- reports -----------------------------------------------------------------------------------


def _report(labels: list[int], predictions: list[int], latencies: list[float]) -> client.BatchReport:
    return client.BatchReport(
        np.array(predictions), np.array(labels, dtype=np.uint8), np.array(latencies), batch_size=2
    )


def test_report_counts_accuracy_confusion_and_latency_percentiles():
    labels = [1, 1, 2, 3, 3, 3]
    predictions = [1, 7, 2, 3, 3, 8]
    report = _report(labels, predictions, [10.0, 30.0, 20.0])

    assert report.accuracy == pytest.approx(4 / 6)
    confusion = report.confusion
    assert confusion.sum() == 6
    assert (confusion[1, 1], confusion[1, 7], confusion[2, 2], confusion[3, 3], confusion[3, 8]) == (
        1,
        1,
        1,
        2,
        1,
    )
    assert report.latency_percentile_ms(50) == pytest.approx(20.0)
    assert 29.0 < report.latency_percentile_ms(99) <= 30.0
    assert "accuracy 0.6667 (4/6)" in report.summary()


def test_confusion_png_is_a_readable_image(tmp_path: Path):
    import matplotlib.image

    report = _report([0, 1, 2, 2], [0, 1, 2, 5], [1.0, 2.0])

    path = client.write_confusion_png(report, tmp_path / "plots" / "confusion.png")

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 200


def test_progress_without_a_terminal_prints_a_line_per_quarter():
    stream = StringIO()
    bar = client.ProgressBar(stream, width=10)

    for done in range(10, 101, 10):
        bar(done, 100)

    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert [line.split()[-1] for line in lines] == ["30/100", "50/100", "80/100", "100/100"]
    assert lines[-1] == "scoring [##########] 100/100"


# --- error paths against the stdlib test peer --------------------------------------------------


class _TestPeer:
    """Answers by path: /ok scores every image as `ok_digit`; /status/<code> answers that status
    with the body `error_bodies[code]`; /slow waits before answering. Records request headers."""

    def __init__(self) -> None:
        self.ok_digit = 0
        self.error_bodies: dict[int, bytes] = {}
        self.seen_headers: list[dict[str, str]] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                peer.seen_headers.append(dict(self.headers))
                if self.path == "/ok":
                    count = len(json.loads(body)["data"])
                    self._answer(200, json.dumps([peer.ok_digit] * count).encode(), "application/json")
                elif self.path.startswith("/status/"):
                    code = int(self.path.rsplit("/", 1)[1])
                    self._answer(code, peer.error_bodies.get(code, b""), "application/json")
                elif self.path == "/slow":
                    time.sleep(2.0)
                    self._answer(200, b"[]", "application/json")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


@pytest.fixture
def peer() -> Iterator[_TestPeer]:
    server = _TestPeer()
    try:
        yield server
    finally:
        server.close()


def test_key_is_sent_as_bearer_and_omitted_without_one(peer: _TestPeer):
    client_request.score_images(peer.base_url + "/ok", _images(2), key=_KEY)
    client_request.score_images(peer.base_url + "/ok", _images(2))

    with_key, without_key = peer.seen_headers
    assert with_key["Authorization"] == f"Bearer {_KEY}"
    assert "Authorization" not in without_key
    assert with_key["Content-Type"] == "application/json"


@pytest.mark.parametrize(("status", "meaning"), [(401, "unauthorized"), (403, "forbidden")])
def test_refused_key_is_an_authentication_error_without_the_key(peer: _TestPeer, status: int, meaning: str):
    peer.error_bodies[status] = b'{"message": "invalid or expired token"}'

    with pytest.raises(AuthenticationFailed) as caught:
        client_request.score_images(f"{peer.base_url}/status/{status}", _images(1), key=_KEY)

    message = str(caught.value)
    assert f"answered {status} ({meaning})" in message
    assert "the key was refused" in message
    assert "invalid or expired token" in message
    assert _KEY not in message
    assert caught.value.status == status


def test_missing_key_is_suggested_when_none_was_sent(peer: _TestPeer):
    peer.error_bodies[401] = b"Unauthorized"

    with pytest.raises(AuthenticationFailed, match="the service needs a key: pass --key or set SCORING_KEY"):
        client_request.score_images(f"{peer.base_url}/status/401", _images(1))


@pytest.mark.parametrize(
    ("status", "body", "server_message"),
    [
        (500, b'{"message": "model not loaded"}', "model not loaded"),
        (503, b'{"error": {"code": "Busy", "message": "replica overloaded"}}', "replica overloaded"),
        (400, b"plain text: data must be a list", "plain text: data must be a list"),
        (502, b"", "(empty body)"),
    ],
)
def test_service_errors_carry_the_servers_message(
    peer: _TestPeer, status: int, body: bytes, server_message: str
):
    peer.error_bodies[status] = body

    with pytest.raises(ServiceError) as caught:
        client_request.score_images(f"{peer.base_url}/status/{status}", _images(1))

    assert str(caught.value) == f"{peer.base_url}/status/{status} answered {status}: {server_message}"
    assert (caught.value.status, caught.value.server_message) == (status, server_message)


def test_connection_refused_says_so():
    from harness.server import free_port

    uri = f"http://127.0.0.1:{free_port()}/score"  # nothing listens there

    with pytest.raises(
        ServiceUnreachable, match=rf"cannot reach {uri}: connection refused \(is the service running"
    ):
        client_request.score_images(uri, _images(1))


def test_no_answer_in_time_is_unreachable(peer: _TestPeer):
    with pytest.raises(ServiceUnreachable, match=r"did not answer within 0.3 s|timed out"):
        client_request.score_images(peer.base_url + "/slow", _images(1), timeout=0.3)


# --- the command line's exit codes -------------------------------------------------------------


def _main(*args: str) -> int:
    return client.main([*args, "--limit", "20"])


def test_cli_sample_prints_label_and_prediction(peer: _TestPeer, capsys):
    peer.ok_digit = 4

    assert _main("--uri", peer.base_url + "/ok", "--seed", "1") == client.EXIT_OK

    out = capsys.readouterr().out
    assert "prediction: 4" in out
    assert out.count("label: ") == 1


def test_cli_exit_codes_for_each_failure(peer: _TestPeer, capsys, tmp_path: Path):
    from harness.server import free_port

    peer.error_bodies[403] = b"{}"
    peer.error_bodies[500] = b'{"message": "boom"}'
    (tmp_path / "images").write_bytes(b"GIF89a")
    mnist.write_idx(tmp_path / "labels", np.zeros(1, np.uint8))

    assert _main("--uri", f"http://127.0.0.1:{free_port()}/score") == client_request.EXIT_UNREACHABLE
    assert _main("--uri", peer.base_url + "/status/403", "--key", _KEY) == client_request.EXIT_AUTH
    assert _main("--uri", peer.base_url + "/status/500", "--batch") == client_request.EXIT_SERVICE
    assert (
        _main(
            "--uri",
            peer.base_url + "/ok",
            "--images",
            str(tmp_path / "images"),
            "--labels",
            str(tmp_path / "labels"),
        )
        == client.EXIT_USAGE
    )

    errors = capsys.readouterr().err
    assert "connection refused" in errors
    assert "answered 403 (forbidden)" in errors
    assert "answered 500: boom" in errors
    assert f"error: {tmp_path / 'images'}: not an IDX file" in errors
    assert _KEY not in errors


def test_cli_batch_below_min_accuracy_exits_1(peer: _TestPeer, capsys):
    peer.ok_digit = 0  # every image "is" a 0: about a tenth right

    assert (
        _main("--uri", peer.base_url + "/ok", "--batch", "--min-accuracy", "0.9")
        == client.EXIT_BELOW_MIN_ACCURACY
    )

    captured = capsys.readouterr()
    assert "accuracy 0." in captured.out
    assert "is under --min-accuracy 0.9" in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--images", "i"], "--images and --labels go together"),
        (["--batch-size", "0"], "--batch-size: 0 is not allowed"),
        (["--timeout", "0"], "--timeout: 0 is not allowed"),
        (["--confusion-png", "c.png"], "--confusion-png and --min-accuracy go with --batch"),
    ],
)
def test_cli_usage_errors_exit_2(args: list[str], message: str, capsys):
    with pytest.raises(SystemExit) as caught:
        client.main(args)

    assert caught.value.code == client.EXIT_USAGE
    assert message in capsys.readouterr().err


# --- against the real azmlinfsrv running score.py ----------------------------------------------


@pytest.fixture(scope="module")
def live_uri(trained_model_dir: Path) -> Iterator[str]:
    from harness.server import ENTRY_SCRIPT, InferenceServer

    with InferenceServer(ENTRY_SCRIPT, trained_model_dir, env={"SCORE_MAX_BATCH": "128"}) as server:
        yield server.score_url


@pytest.mark.slow
def test_sample_query_against_the_real_server(live_uri: str):
    dataset = client.load_test_set()

    result = client.sample_query(live_uri, dataset=dataset, seed=11)
    again = client.sample_query(live_uri, dataset=dataset, seed=11)

    assert result.index == again.index
    assert result.label == dataset.labels[result.index]
    assert result.prediction == again.prediction
    assert 0 <= result.prediction <= 9


@pytest.mark.slow
def test_batch_accuracy_against_the_real_server_is_the_models_recorded_accuracy(
    live_uri: str, trained_model_dir: Path, tmp_path: Path
):
    """The JSON carries the training pixels exactly, so the served accuracy on the held-out
    digits equals the accuracy train.py measured on its exported model."""
    metadata = json.loads((trained_model_dir / "metadata.json").read_text())
    dataset = client.load_test_set()
    progress: list[tuple[int, int]] = []

    report = client.score_dataset(
        live_uri, dataset, batch_size=100, on_progress=lambda done, total: progress.append((done, total))
    )

    assert report.accuracy == pytest.approx(metadata["accuracy"], abs=1e-6)
    assert report.confusion.sum() == len(dataset)
    assert len(report.latencies_ms) == -(-len(dataset) // 100)
    assert progress[-1] == (len(dataset), len(dataset))


@pytest.mark.slow
def test_server_rejection_reaches_the_caller_with_its_message(live_uri: str):
    """SCORE_MAX_BATCH is 128 for this server: a batch of 200 is refused by the scorer itself."""
    dataset = client.load_test_set()

    with pytest.raises(ServiceError) as caught:
        client.score_dataset(live_uri, dataset, batch_size=200)

    assert 400 <= caught.value.status < 500
    assert "128" in caught.value.server_message


@pytest.mark.slow
def test_cli_batch_over_idx_files_against_the_real_server(live_uri: str, tmp_path: Path):
    dataset = client.load_test_set().subset(np.arange(150))
    mnist.save_dataset(dataset, tmp_path / "t10k-images.gz", tmp_path / "t10k-labels.gz")
    png = tmp_path / "confusion.png"

    result = subprocess.run(
        [
            sys.executable, "-m", "model_tools.client", "--uri", live_uri, "--batch",
            "--images", str(tmp_path / "t10k-images.gz"), "--labels", str(tmp_path / "t10k-labels.gz"),
            "--batch-size", "50", "--confusion-png", str(png), "--min-accuracy", "0.9",
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == client.EXIT_OK, result.stderr
    assert "/150)" in result.stdout and "p50" in result.stdout and "p99" in result.stdout
    assert "scoring [" in result.stderr and "150/150" in result.stderr
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_cli_sample_query_against_the_real_server(live_uri: str):
    result = subprocess.run(
        [sys.executable, "-m", "model_tools.client", "--uri", live_uri, "--seed", "2"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == client.EXIT_OK, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["label"].isdigit() and lines["prediction"].isdigit()
