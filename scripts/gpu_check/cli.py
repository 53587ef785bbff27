"""`make gpu-check`'s steps in order, and its options (python -m scripts.gpu_check --help).

First the cheap GPU search (detect.py): without a GPU the check prints why and exits 3 before
anything is built, unless --allow-cpu asks for the CPU measurements. Then the environment from
the GPU pins, the model, the in-process probe, the cold starts and the HTTP load, each recorded
with its seconds; one JSON document goes to stdout and to --out. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scripts.gpu_check import detect, environment, http_load, report
from scripts.gpu_check.report import BUDGET_S, EXIT_GPU_UNUSABLE, EXIT_NO_GPU, EXIT_STEP_FAILED

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VENV = ROOT / ".venv-gpu"
DEFAULT_REQUIREMENTS = Path(__file__).resolve().parent / "requirements-gpu.txt"
DEFAULT_WORK_DIR = ROOT / "artifacts" / "gpu-check"
DEFAULT_OUT = ROOT / "artifacts" / "gpu-check.json"
# environment.yml's `python=3.11`: the image's interpreter; another one may resolve other wheels.
IMAGE_PYTHON = "3.11"
MAX_BATCH = 4096  # SCORE_MAX_BATCH for every server and probe: the largest batch measured
# A step's process that takes longer has hung (each takes well under a minute on a GPU machine).
STEP_TIMEOUT_S = 600
ROUTE_BATCHES = (1, 8, 64, 256, 1024, 4096)
FULL = {"workers": (1, 2, 4), "batches": (1, 256, 4096), "duration_s": 3.0, "timing_budget_s": 0.3}
FULL_TIMING_BATCHES = tuple(2**k for k in range(13))  # 1..4096: the threshold to a power of two
# --quick: enough to exercise every step on a shared CPU in well under a minute.
QUICK = {"workers": (1,), "batches": (1, 256, 4096), "duration_s": 0.5, "timing_budget_s": 0.02}
QUICK_TIMING_BATCHES = (1, 16, 256, 4096)


class StepFailed(Exception):
    def __init__(self, stage: str, message: str, code: int = EXIT_STEP_FAILED) -> None:
        super().__init__(message)
        self.stage, self.code = stage, code


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers") from None
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"{text!r}: expected integers >= 1")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.gpu_check",
        description="The scoring service measured on one NVIDIA GPU (docs/performance.md, 'GPU check'). "
        "Exit codes: 0 measured, 2 bad arguments, 3 no NVIDIA GPU found (nothing built), "
        "4 a step failed, 5 a GPU is there but TensorFlow cannot use it.",
    )
    parser.add_argument(
        "--venv", type=Path, default=DEFAULT_VENV, help="the GPU environment (default .venv-gpu)"
    )
    parser.add_argument("--requirements", type=Path, default=DEFAULT_REQUIREMENTS, help="the GPU pins")
    parser.add_argument("--python", default=sys.executable, help="the interpreter the venv is built with")
    parser.add_argument("--no-build", action="store_true", help="use --venv as it is (e.g. .venv-scoring)")
    parser.add_argument("--model-dir", type=Path, help="a trained model to use instead of training one")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR, help="model, logs, bodies")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON is written too")
    parser.add_argument("--allow-cpu", action="store_true", help="without a GPU, measure on the CPU")
    parser.add_argument("--quick", action="store_true", help="short load phases, one worker count")
    parser.add_argument("--workers", type=_int_list, help="worker counts (default 1,2,4; quick 1)")
    parser.add_argument("--batches", type=_int_list, help="HTTP batch sizes (default 1,256,4096)")
    parser.add_argument("--duration", type=float, help="seconds per load phase (default 3; quick 0.5)")
    parser.add_argument("--device-node", default=detect.DEVICE_NODE, help="the device node looked for")
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    args.workers = args.workers or preset["workers"]
    args.batches = args.batches or preset["batches"]
    args.duration = args.duration if args.duration is not None else preset["duration_s"]
    args.timing_budget_s = preset["timing_budget_s"]
    args.timing_batches = QUICK_TIMING_BATCHES if args.quick else FULL_TIMING_BATCHES
    if args.duration <= 0:
        parser.error("--duration must be > 0")
    if max(args.batches) > MAX_BATCH:
        parser.error(f"--batches: at most {MAX_BATCH} images per request (the servers' SCORE_MAX_BATCH)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    probe = detect.find_gpu(device_node=args.device_node)
    if not probe.found and not args.allow_cpu:
        print(json.dumps(report.no_gpu_document(probe), indent=2))
        _say(
            f"{probe.reason}. Stopped before building anything (exit {EXIT_NO_GPU}): run it on a machine "
            "with an NVIDIA GPU and its driver, or pass --allow-cpu to measure on the CPU."
        )
        return EXIT_NO_GPU
    modes = http_load.MODES if probe.found else ("cpu",)
    check: dict[str, Any] = {
        "quick": args.quick,
        "load_phase_s": args.duration,
        "timing_budget_s_per_batch": args.timing_budget_s,
        "budget_s": BUDGET_S,
        "stages_s": {},
        "total_s": None,
        "within_budget": None,
        "out": str(args.out),
        "work_dir": str(args.work_dir),
        "host": {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version()},
    }
    document = report.new_document(probe, modes, check)
    try:
        run_steps(args, probe, modes, document)
    except StepFailed as failure:
        report.fail(document, failure.stage, str(failure), failure.code)
    total = time.monotonic() - began
    check["total_s"] = round(total, 1)
    check["within_budget"] = total <= BUDGET_S
    text = json.dumps(document, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    print(text)
    error = document["error"]
    _say(
        f"done in {total:.0f} s; " + (f"{error['stage']} failed: {error['message']}" if error else "measured")
    )
    return int(document["exit_code"])


def run_steps(args: argparse.Namespace, probe: detect.GpuProbe, modes: tuple[str, ...], doc: dict) -> None:
    stages = doc["check"]["stages_s"]
    with _stage(stages, "environment"):
        env = environment.ensure_environment(
            args.venv.resolve(), args.requirements.resolve(), build=not args.no_build, builder=args.python
        )
        doc["environment"] = {
            "venv": str(env.venv),
            "requirements": None if args.no_build else str(args.requirements),
            "built": env.built,
            "seconds": round(env.seconds, 1),
            "python": (python_version := _python_version(env.python)),
            "image_python": IMAGE_PYTHON,
            "python_matches_image": bool(python_version and python_version.startswith(IMAGE_PYTHON + ".")),
        }
    work = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    with _stage(stages, "model"):
        doc["model"] = _model(args, env.python, work)
    model_dir = Path(doc["model"]["dir"])
    on_gpu = "gpu" in modes
    with _stage(stages, "forward_probe"):
        found = _forward_probe(args, env.python, model_dir, work, on_gpu)
        doc["device_report"] = found.get("device_report")
        doc["versions"] = report.versions(probe, found.get("device_report"), found.get("packages", {}))
        doc["routes"] = {"service": found.get("scorer"), "batches": found.get("routes")}
        doc["equality"] = found.get("equality")
        doc["threshold"] = found.get("threshold")
        if "error" in found:
            kind = found["error"].get("kind")
            code = EXIT_GPU_UNUSABLE if kind == "gpu_unusable" else EXIT_STEP_FAILED
            raise StepFailed("forward_probe", found["error"]["message"], code)
    with _stage(stages, "cold_start"):
        doc["cold_start"] = {mode: _cold_start(env.python, model_dir, work, mode) for mode in modes}
    with _stage(stages, "http"):
        body = (work / "bodies" / "images.u8").read_bytes()
        expected = json.loads((work / "bodies" / "digits.json").read_text())
        plan = http_load.LoadPlan(modes, args.workers, args.batches, args.duration, MAX_BATCH)
        rows, servers = http_load.measure(env.python, model_dir, plan, body, expected, work, _say)
        doc["throughput"] = {
            "load_phase_s": args.duration,
            "content_type": http_load.CONTENT_TYPE,
            "concurrency": "one connection per worker, closed loop (harness/loadgen.py, Connection: close)",
            "server_env": {mode: http_load.server_env(mode, MAX_BATCH) for mode in modes},
            "rows": rows,
        }
        doc["worker_memory"] = servers


@contextmanager
def _stage(stages: dict[str, float], name: str) -> Iterator[None]:
    """Time a step; any error in it becomes StepFailed naming the step."""
    _say(f"{name} ...")
    began = time.monotonic()
    try:
        yield
    except StepFailed:
        raise
    except Exception as error:  # the document says which step failed and why; exit 4
        raise StepFailed(name, f"{type(error).__name__}: {error}") from error
    finally:
        stages[name] = round(time.monotonic() - began, 1)


def _model(args: argparse.Namespace, python: Path, work: Path) -> dict[str, Any]:
    if args.model_dir is not None:
        model_dir, trained, seconds = args.model_dir.resolve(), False, 0.0
    else:
        model_dir = work / "model"
        began = time.monotonic()
        # On the CPU: the model is the check's input, not what it measures; the digits train in
        # seconds there, and the same seed gives the same model as the test suite's (TensorFlow's
        # deterministic ops have GPU gaps that would stop training, not inform anything).
        _run(
            [str(python), "-m", "model_tools.train", "--digits", "--out", str(model_dir)],
            {"CUDA_VISIBLE_DEVICES": ""},
        )
        trained, seconds = True, time.monotonic() - began
    metadata_path = model_dir / "metadata.json"
    if not metadata_path.is_file():
        raise StepFailed("model", f"{metadata_path} does not exist: not a trained model directory")
    metadata = json.loads(metadata_path.read_text())
    return {
        "dir": str(model_dir),
        "trained": trained,
        "train_s": round(seconds, 1) if trained else None,
        "trained_on": 'CPU (CUDA_VISIBLE_DEVICES="")' if trained else None,
        "accuracy": metadata.get("accuracy"),
        "source": metadata.get("source"),
    }


def _forward_probe(args: argparse.Namespace, python: Path, model_dir: Path, work: Path, on_gpu: bool) -> dict:
    out = work / "forward-probe.json"
    out.unlink(missing_ok=True)
    argv = [str(python), "-m", "scripts.gpu_check.forward_probe", "--model-dir", str(model_dir)]
    argv += ["--out", str(out), "--bodies-dir", str(work / "bodies"), "--max-batch", str(MAX_BATCH)]
    argv += ["--route-batches", ",".join(map(str, ROUTE_BATCHES))]
    argv += ["--timing-batches", ",".join(map(str, args.timing_batches))]
    argv += ["--timing-budget-s", str(args.timing_budget_s)]
    if on_gpu:
        argv.append("--require-gpu")
    code = _run(argv, http_load.worker_env("gpu" if on_gpu else "cpu", MAX_BATCH), check=False)
    return _read_result(out, "forward_probe", code)


def _cold_start(python: Path, model_dir: Path, work: Path, mode: str) -> dict[str, Any]:
    out = work / f"cold-start-{mode}.json"
    out.unlink(missing_ok=True)
    argv = [str(python), "-m", "scripts.gpu_check.cold_start", "--model-dir", str(model_dir)]
    argv += ["--out", str(out), "--max-batch", str(MAX_BATCH)]
    began = time.monotonic()
    code = _run(argv, http_load.worker_env(mode, MAX_BATCH), check=False)
    found = _read_result(out, "cold_start", code)
    if "error" in found:
        raise StepFailed("cold_start", f"{mode}: {found['error']['message']}")
    found["process_s"] = round(time.monotonic() - began, 3)  # interpreter start and exit included
    return found


def _read_result(path: Path, stage: str, code: int) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise StepFailed(
            stage, f"exited with status {code} without writing {path} (its output is above)"
        ) from None


def _run(argv: list[str], extra_env: Mapping[str, str], *, check: bool = True) -> int:
    """Run a step's process from the repo root (so `-m scripts...`/`model_service` import), its
    output on stderr: stdout carries only the JSON document."""
    env = {**os.environ, **extra_env}
    done = subprocess.run(argv, cwd=ROOT, env=env, stdout=sys.stderr, check=False, timeout=STEP_TIMEOUT_S)
    if check and done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[1:4])} exited with status {done.returncode} (its output is above)"
        )
    return done.returncode


def _python_version(python: Path) -> str | None:
    try:
        done = subprocess.run(
            [str(python), "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _say(message: str) -> None:
    print(f"gpu-check: {message}", file=sys.stderr, flush=True)
