"""`make gpu-check` (scripts/gpu_check) without a GPU: it stops before building anything with
exit 3 and says why; and its pure parts (the threshold, percentiles, the GPU search, what it reads
from the server's log, /proc and nvidia-smi, the document). The measuring run on a CPU is in
tests/scoring/test_gpu_check_cpu_run.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from scripts.gpu_check import detect, environment, http_load, memory, report, stats
from scripts.gpu_check.cli import parse_args

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# No GPU: the check stops first, says why, builds nothing


def _no_gpu_env(tmp_path: Path) -> dict[str, str]:
    """An environment in which nvidia-smi cannot be found (PATH holds one empty directory)."""
    empty = tmp_path / "empty-path"
    empty.mkdir(exist_ok=True)
    return {**os.environ, "PATH": str(empty)}


def test_without_a_gpu_the_script_exits_3_says_why_and_builds_nothing(tmp_path: Path) -> None:
    venv, out = tmp_path / "venv-gpu", tmp_path / "gpu-check.json"
    argv = [sys.executable, "-m", "scripts.gpu_check", "--venv", str(venv), "--out", str(out)]
    argv += ["--work-dir", str(tmp_path / "work"), "--device-node", str(tmp_path / "nvidia0")]
    done = subprocess.run(
        argv, cwd=ROOT, env=_no_gpu_env(tmp_path), capture_output=True, text=True, timeout=60
    )

    assert done.returncode == report.EXIT_NO_GPU == 3, done.stderr
    document = json.loads(done.stdout)
    assert document["gpu_found"] is False
    assert document["reason"] == f"no NVIDIA GPU found: nvidia-smi not on PATH, {tmp_path / 'nvidia0'} absent"
    assert "no NVIDIA GPU found" in done.stderr and "Stopped before building anything (exit 3)" in done.stderr
    assert not venv.exists() and not (tmp_path / "work").exists()
    assert not out.exists()  # a previous run's figures are not overwritten by a refusal


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_gpu_check_without_a_gpu_fails_with_the_scripts_code_and_builds_nothing(tmp_path: Path) -> None:
    venv = tmp_path / "venv-gpu"
    args = f"--device-node {tmp_path / 'nvidia0'} --work-dir {tmp_path / 'work'}"
    argv = [shutil.which("make") or "make", "-s", "--no-print-directory", "gpu-check"]
    argv += [f"PYTHON={sys.executable}", f"GPU_VENV={venv}", f"GPU_CHECK_OUT={tmp_path / 'out.json'}"]
    argv += [f"GPU_CHECK_ARGS={args}"]
    done = subprocess.run(
        argv, cwd=ROOT, env=_no_gpu_env(tmp_path), capture_output=True, text=True, timeout=60
    )

    assert done.returncode != 0
    assert "Error 3" in done.stderr, done.stderr
    document = json.loads(done.stdout)
    assert document["gpu_found"] is False and "nvidia-smi not on PATH" in document["reason"]
    assert not venv.exists() and not (tmp_path / "out.json").exists()


def test_the_batch_sizes_are_bounded_by_the_servers_batch_limit() -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_args(["--batches", "1,8192"])
    assert stopped.value.code == 2
    quick = parse_args(["--quick"])
    assert quick.workers == (1,) and quick.batches == (1, 256, 4096) and quick.duration == 0.5
    full = parse_args([])
    assert full.workers == (1, 2, 4) and full.batches == (1, 256, 4096)


# ---------------------------------------------------------------------------------------------
# The GPU search


class FakeSmi:
    """nvidia-smi's answers, by the first argument after the program."""

    def __init__(self, answers: dict[str, tuple[int, str]]) -> None:
        self.answers, self.calls = answers, []

    def __call__(self, argv: Sequence[str]) -> tuple[int, str]:
        self.calls.append(list(argv))
        key = argv[1] if len(argv) > 1 else ""
        answer = self.answers.get(key.split("=")[0])
        if answer is None:
            raise OSError("not answered")
        return answer


SMI = "/usr/bin/nvidia-smi"
H200 = "GPU 0: NVIDIA H200 (UUID: GPU-00000000-0000-0000-0000-000000000000)"


def _probe(smi: str | None, node: bool, run: FakeSmi) -> detect.GpuProbe:
    return detect.find_gpu(which=lambda _: smi, exists=lambda _: node, run=run)


def test_a_gpu_listed_by_nvidia_smi_is_found_with_its_driver_and_cuda_version() -> None:
    run = FakeSmi(
        {
            "-L": (0, H200),
            "--query-gpu": (0, "NVIDIA H200, 570.86.15, 143771"),
            "": (0, "| NVIDIA-SMI 570.86.15   Driver Version: 570.86.15   CUDA Version: 12.8 |"),
        }
    )
    found = _probe(SMI, True, run)
    assert found.found and found.gpus == [H200]
    assert (found.name, found.driver_version, found.memory_total_mib) == ("NVIDIA H200", "570.86.15", 143771)
    assert found.cuda_driver_version == "12.8"


def test_nvidia_smi_listing_no_gpu_is_no_gpu_with_what_it_said() -> None:
    found = _probe(SMI, False, FakeSmi({"-L": (6, "No devices were found")}))
    assert not found.found
    assert "`nvidia-smi -L` listed none (No devices were found)" in found.reason
    assert "/dev/nvidia0 absent" in found.reason


def test_nvidia_smi_that_cannot_run_is_no_gpu() -> None:
    found = _probe(SMI, True, FakeSmi({}))
    assert not found.found and "could not be run" in found.reason


def test_no_nvidia_smi_and_no_device_node_is_no_gpu_and_runs_nothing() -> None:
    run = FakeSmi({})
    found = _probe(None, False, run)
    assert (
        not found.found and found.reason == "no NVIDIA GPU found: nvidia-smi not on PATH, /dev/nvidia0 absent"
    )
    assert run.calls == []


def test_a_device_node_without_nvidia_smi_counts_as_a_gpu_for_tensorflow_to_confirm() -> None:
    found = _probe(None, True, FakeSmi({}))
    assert found.found and found.driver_version is None and "nvidia-smi not on PATH" in found.reason


# ---------------------------------------------------------------------------------------------
# Arithmetic


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert stats.percentile(values, 0.5) == 50.0
    assert stats.percentile(values, 0.99) == 99.0
    assert stats.percentile([3.0, 1.0, 2.0], 0.5) == 2.0  # unsorted input
    assert stats.percentile([], 0.5) is None
    with pytest.raises(ValueError, match="fraction"):
        stats.percentile(values, 1.5)


def test_the_threshold_is_where_tensorflow_stays_faster() -> None:
    numpy_ms = {1: 0.03, 8: 0.1, 64: 0.6, 256: 2.0, 1024: 8.0, 4096: 32.0}
    tensorflow_ms = {1: 0.4, 8: 0.4, 64: 0.5, 256: 0.6, 1024: 0.9, 4096: 2.0}
    assert stats.measured_threshold(numpy_ms, tensorflow_ms)[0] == 64


def test_one_noisy_size_below_the_crossover_does_not_decide_it() -> None:
    numpy_ms = {1: 0.03, 8: 0.5, 64: 0.6, 256: 2.0}
    tensorflow_ms = {1: 0.4, 8: 0.4, 64: 0.7, 256: 0.6}  # faster at 8 by chance, slower at 64
    batch, how = stats.measured_threshold(numpy_ms, tensorflow_ms)
    assert batch == 256
    assert "also faster at [8]" in how


def test_no_threshold_when_tensorflow_is_not_faster_at_the_largest_batch() -> None:
    batch, why = stats.measured_threshold({1: 0.03, 4096: 20.0}, {1: 0.4, 4096: 24.0})
    assert batch is None
    assert why == "TensorFlow was not faster than numpy at the largest batch measured (1..4096 images)"
    assert stats.measured_threshold({}, {}) == (None, "no batch size was timed on both forwards")


def test_tensorflow_faster_everywhere_is_a_threshold_of_one() -> None:
    assert stats.measured_threshold({1: 1.0, 2: 2.0}, {1: 0.5, 2: 0.5})[0] == 1


def test_images_per_second() -> None:
    assert stats.images_per_s(100, 256, 2.0) == 12800.0
    assert stats.images_per_s(0, 256, 2.0) is None
    assert stats.images_per_s(10, 1, 0.0) is None


# ---------------------------------------------------------------------------------------------
# What the server, /proc and nvidia-smi say


LOG = """\
2026-01-01 00:00:01 I [101] azmlinfsrv.scorer - model /m loaded on /GPU:0 (TensorFlow 2.21.0); \
forward: routed (numpy below 64 images, tensorflow from 64); warmed at batch sizes [1, 8, 256, 4096, 63]
2026-01-01 00:00:01 I [102] azmlinfsrv.scorer - model /m loaded on /CPU:0 (TensorFlow 2.21.0); \
forward: numpy; warmed at batch sizes [1, 8, 256, 4096]
"""


def test_each_workers_device_and_forward_are_read_from_its_log_line() -> None:
    assert http_load.parse_loaded(LOG) == [
        ("/GPU:0", "routed (numpy below 64 images, tensorflow from 64)"),
        ("/CPU:0", "numpy"),
    ]


def test_a_batch_is_routed_as_the_workers_forward_says() -> None:
    routed = "routed (numpy below 64 images, tensorflow from 64)"
    assert http_load.route_for(routed, "/GPU:0", 1) == ("numpy", "/CPU:0")
    assert http_load.route_for(routed, "/GPU:0", 63) == ("numpy", "/CPU:0")
    assert http_load.route_for(routed, "/GPU:0", 64) == ("tensorflow", "/GPU:0")
    assert http_load.route_for("tensorflow", "/CPU:0", 1) == ("tensorflow", "/CPU:0")
    assert http_load.route_for("numpy", "/CPU:0", 4096) == ("numpy", "/CPU:0")
    assert http_load.route_for("unknown", "unknown", 1) == (None, None)


def test_gpu_memory_per_pid_from_nvidia_smis_compute_apps() -> None:
    text = "101, 1234\n102, 980\n[Not Supported], 5\n\n101, 6\n"
    assert memory.parse_compute_apps(text) == {101: 1240, 102: 980}


def test_rss_from_proc_status() -> None:
    status = "Name:\tpython\nVmHWM:\t  700000 kB\nVmRSS:\t  650000 kB\n"
    assert memory.proc_status_kib(status, "VmRSS") == 650000
    assert memory.proc_status_kib(status, "VmHWM") == 700000
    assert memory.proc_status_kib(status, "VmSwap") is None


def test_the_workers_are_the_masters_children_and_their_memory_is_read() -> None:
    code = "import sys, time; print('up', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "up\n"  # running, not mid-exec
        assert child.pid in memory.children(os.getpid())
        rss, peak = memory.memory_mib(child.pid)
        assert rss is not None and peak is not None and 0 < rss <= peak
    finally:
        child.kill()
        child.wait()
    assert memory.memory_mib(child.pid) == (None, None)


def test_the_cpu_servers_hide_the_gpu_and_do_not_require_one() -> None:
    assert http_load.server_env("cpu", 4096) == {
        "SCORE_MAX_BATCH": "4096",
        "CUDA_VISIBLE_DEVICES": "",
        "SCORE_REQUIRE_GPU": "false",
    }
    assert http_load.server_env("gpu", 4096) == {"SCORE_MAX_BATCH": "4096", "SCORE_REQUIRE_GPU": "true"}
    assert http_load.worker_env("cpu", 4096)["TF_USE_LEGACY_KERAS"] == "1"  # as the server starts
    with pytest.raises(ValueError, match="mode"):
        http_load.server_env("tpu", 4096)


# ---------------------------------------------------------------------------------------------
# The document and the environment


def _no_gpu() -> detect.GpuProbe:
    return detect.GpuProbe(False, "no NVIDIA GPU found: x", None, "/dev/nvidia0", False)


def test_the_no_gpu_document_says_why_and_that_nothing_was_built() -> None:
    document = report.no_gpu_document(_no_gpu())
    assert document["gpu_found"] is False and document["reason"] == "no NVIDIA GPU found: x"
    assert document["exit_code"] == 3 and document["built"].startswith("nothing")


def test_a_new_document_has_every_key_and_names_what_is_not_measured_yet() -> None:
    document = report.new_document(_no_gpu(), ("cpu",), {"quick": True})
    assert list(document) == list(report.DOCUMENT_KEYS)
    assert document["mode"] == "cpu-only" and document["reason"] == "no NVIDIA GPU found: x"
    assert report.missing_keys(document) == list(report.MEASUREMENT_KEYS)
    report.fail(document, "http", "boom")
    assert document["error"] == {"stage": "http", "message": "boom"} and document["exit_code"] == 4


def test_versions_put_the_driver_and_cuda_builds_together() -> None:
    probe = detect.GpuProbe(
        True, "ok", SMI, "/dev/nvidia0", True, driver_version="570", cuda_driver_version="12.8"
    )
    found = report.versions(
        probe,
        {
            "driver_version": None,
            "tensorflow_version": "2.21.0",
            "cuda_build_version": "12.5.1",
            "cudnn_build_version": "9",
        },
        {"nvidia-cudnn-cu12": "9.3.0.75", "nvidia-cuda-runtime-cu12": "12.5.82"},
    )
    assert found["driver"] == "570" and found["driver_supports_cuda"] == "12.8"
    assert (found["tensorflow_built_with_cuda"], found["tensorflow_built_with_cudnn"]) == ("12.5.1", "9")
    assert (found["cudnn_wheel"], found["cuda_runtime_wheel"]) == ("9.3.0.75", "12.5.82")


def test_the_environment_is_never_rebuilt_over_one_the_check_did_not_make(tmp_path: Path) -> None:
    other = tmp_path / "venv"
    (other / "bin").mkdir(parents=True)
    (other / "bin" / "python").write_text("")
    requirements = tmp_path / "requirements-gpu.txt"
    requirements.write_text("numpy==2.4.6\n")
    with pytest.raises(environment.EnvironmentBuildError, match="was not built by the GPU check"):
        environment.ensure_environment(other, requirements, build=True)
    assert (other / "bin" / "python").exists()
    given = environment.ensure_environment(other, requirements, build=False)
    assert given.python == other / "bin" / "python" and not given.built
    with pytest.raises(environment.EnvironmentBuildError, match="--no-build"):
        environment.ensure_environment(tmp_path / "absent", requirements, build=False)


def test_the_environment_digest_follows_included_requirements(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("numpy==2.4.6\n")
    top = tmp_path / "top.txt"
    top.write_text("-r base.txt\norjson==3.13.0\n")
    before = environment.requirements_digest(top, "/usr/bin/python3")
    (tmp_path / "base.txt").write_text("numpy==2.4.7\n")
    assert environment.requirements_digest(top, "/usr/bin/python3") != before
    assert environment.requirements_digest(top, "/usr/bin/python3.12") != environment.requirements_digest(
        top, "/usr/bin/python3"
    )


def test_a_build_stopped_half_way_is_redone_not_refused(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements-gpu.txt"
    requirements.write_text("numpy==2.4.6\n")
    venv = tmp_path / "venv"
    missing = str(tmp_path / "no-such-python")
    with pytest.raises(environment.EnvironmentBuildError, match="cannot run"):
        environment.ensure_environment(venv, requirements, build=True, builder=missing)
    assert (venv / environment.STAMP).read_text() == "building\n"  # claimed, so the next run may redo it
    assert (venv / ".gitignore").read_text() == "*\n"
    with pytest.raises(environment.EnvironmentBuildError, match="cannot run"):  # not "was not built by"
        environment.ensure_environment(venv, requirements, build=True, builder=missing)
