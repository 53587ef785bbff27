"""`make gpu-check`'s measuring steps, run on a CPU as far as they go (--allow-cpu --quick with
the scoring environment, no GPU visible): the document has every measurement the issue lists,
the HTTP phase answered through the real azmlinfsrv, and the figures are printed, not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.gpu_check import report

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cpu_run(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, str, Path]:
    tmp = tmp_path_factory.mktemp("gpu-check")
    empty = tmp / "empty-path"  # no nvidia-smi, whatever the machine has: the CPU path, always
    empty.mkdir()
    out = tmp / "gpu-check.json"
    argv = [sys.executable, "-m", "scripts.gpu_check", "--allow-cpu", "--no-build", "--quick"]
    argv += ["--venv", str(Path(sys.executable).parent.parent), "--model-dir", str(trained_model_dir)]
    argv += ["--workers", "1,2", "--out", str(out), "--work-dir", str(tmp / "work")]
    argv += ["--device-node", str(tmp / "nvidia0")]
    done = subprocess.run(
        argv, cwd=ROOT, env={**os.environ, "PATH": str(empty)}, capture_output=True, text=True, timeout=240
    )
    print(done.stderr[-4000:], file=sys.stderr)  # the figures, for whoever reads the test log
    return done.returncode, json.loads(done.stdout), done.stderr, out


def test_the_cpu_run_measures_everything_the_issue_lists(cpu_run) -> None:
    code, document, stderr, out = cpu_run
    assert code == 0, document.get("error")
    assert report.missing_keys(document) == [], stderr[-2000:]
    assert list(document) == list(report.DOCUMENT_KEYS)
    assert json.loads(out.read_text()) == document  # printed and written, the same document
    assert document["gpu_found"] is False and document["mode"] == "cpu-only"
    assert "nvidia-smi not on PATH" in document["reason"]
    assert document["error"] is None and document["exit_code"] == 0


def test_every_batch_size_runs_numpy_on_the_cpu(cpu_run) -> None:
    _, document, _, _ = cpu_run
    routes = document["routes"]["batches"]
    assert [row["batch"] for row in routes] == [1, 8, 64, 256, 1024, 4096]
    assert {(row["forward"], row["device"]) for row in routes} == {("numpy", "/CPU:0")}
    assert document["device_report"]["device"] == "/CPU:0"


def test_tensorflows_predictions_equal_numpys_on_10000_images(cpu_run) -> None:
    _, document, _, _ = cpu_run
    equality = document["equality"]
    assert equality["images"] == 10_000
    assert equality["equal"] is True
    assert equality["uint8"]["mismatches"] == equality["float32"]["mismatches"] == 0


def test_the_threshold_is_measured_or_says_why_not(cpu_run) -> None:
    _, document, _, _ = cpu_run
    threshold = document["threshold"]
    assert threshold["measured_on"] == "/CPU:0"
    assert threshold["batch"] is None or threshold["batch"] in {row["batch"] for row in threshold["timings"]}
    assert threshold["reason"]
    assert [row["batch"] for row in threshold["timings"]] == [1, 16, 256, 4096]


def test_throughput_rows_for_each_size_and_worker_count_through_the_http_server(cpu_run) -> None:
    _, document, _, _ = cpu_run
    rows = document["throughput"]["rows"]
    assert [(row["mode"], row["workers"], row["batch"]) for row in rows] == [
        ("cpu", workers, batch) for workers in (1, 2) for batch in (1, 256, 4096)
    ]
    for row in rows:
        assert row["requests"] > 0 and row["errors"] == 0, row
        assert row["http_digits_equal_numpy"] is True
        assert (row["forward"], row["device"]) == ("numpy", "/CPU:0")
        assert all(row[key] is not None for key in ("images_per_s", "p50_ms", "p99_ms"))
    assert document["throughput"]["server_env"]["cpu"]["CUDA_VISIBLE_DEVICES"] == ""


def test_cold_start_is_split_into_its_steps(cpu_run) -> None:
    _, document, _, _ = cpu_run
    cold = document["cold_start"]
    assert list(cold) == ["cpu"]
    for key in ("import_tensorflow_s", "list_devices_s", "model_load_s", "warm_up_s", "total_s"):
        assert cold["cpu"][key] >= 0, key
    assert cold["cpu"]["device"] == "/CPU:0" and cold["cpu"]["warmed_batches"][-1] == 4096


def test_each_workers_memory_is_reported_and_no_gpu_memory_is_invented(cpu_run) -> None:
    _, document, _, _ = cpu_run
    servers = document["worker_memory"]
    assert [(server["mode"], server["workers"]) for server in servers] == [("cpu", 1), ("cpu", 2)]
    for server in servers:
        assert len(server["worker"]) == server["workers"]
        assert all(worker["rss_mib"] > 0 and worker["gpu_memory_mib"] is None for worker in server["worker"])
        assert server["gpu_memory_note"].startswith("nvidia-smi not available")
        assert [loaded["device"] for loaded in server["loaded"]] == ["/CPU:0"] * server["workers"]


def test_a_gpu_that_tensorflow_cannot_use_stops_the_check_with_exit_5(
    trained_model_dir: Path, tmp_path: Path
) -> None:
    # A device node with no driver behind it (a file here) passes the cheap search; the probe then
    # loads the scorer with SCORE_REQUIRE_GPU=true, as the GPU servers run, and TensorFlow sees no GPU.
    node = tmp_path / "nvidia0"
    node.write_text("")
    empty = tmp_path / "empty-path"
    empty.mkdir()
    argv = [sys.executable, "-m", "scripts.gpu_check", "--no-build", "--quick", "--device-node", str(node)]
    argv += ["--venv", str(Path(sys.executable).parent.parent), "--model-dir", str(trained_model_dir)]
    argv += ["--out", str(tmp_path / "out.json"), "--work-dir", str(tmp_path / "work")]
    done = subprocess.run(
        argv, cwd=ROOT, env={**os.environ, "PATH": str(empty)}, capture_output=True, text=True, timeout=240
    )

    assert done.returncode == report.EXIT_GPU_UNUSABLE == 5, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert document["gpu_found"] is True and document["mode"] == "gpu"
    assert document["error"]["stage"] == "forward_probe"
    assert document["error"]["message"].startswith(
        "SCORE_REQUIRE_GPU=true but no GPU is visible to TensorFlow"
    )
    assert document["device_report"]["device"] == "/CPU:0"
    assert document["throughput"] is None and document["cold_start"] is None  # stopped there
