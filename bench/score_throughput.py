"""Scoring throughput: our entry script against the how-to's style and against the limits, in one run.

    .venv-scoring/bin/python bench/score_throughput.py [--quick] [--model-dir DIR]
        [--loadgen auto|wrk|python]    (auto: wrk if installed, else python)

For each served variant, azmlinfsrv (Azure ML's inference server: gunicorn sync workers + Flask) is
started on a free loopback port at 1 worker and at workers = cores, and a load generator in its own
process drives /score closed-loop at each concurrency and images-per-request:

    howto         bench/variants/howto_score.py      json.loads -> np.array -> model.predict -> argmax
    ours_json     model_service/score.py             the how-to's JSON body
    ours_uint8    model_service/score.py             application/octet-stream, 784 bytes per image
    ours_float32  model_service/score.py             application/octet-stream; dtype=float32

Our entry script is served as the local target serves it: deployed by the real LocalBackend (the
code `pulumi up` runs for the local stack), and each of its cells is driven twice, `path`
`direct` (the release's own port) and `scoring_uri` (the service's scoring URI, the front door's
port), the same processes either way; the run prints scoring_uri / direct for every cell.

At each worker count all the variants' servers run at once, and the cells that send the same body
(howto and ours_json with JSON, on both paths) are measured together in alternating
rounds (a b c c b a a b c: `--rounds` each), so that a neighbour's load falls on all of them
alike; each cell's figures are the medians of its rounds, and the ratios between cells measured
together are the medians of their per-round ratios.

In the same run the limits are measured alone on one core (bench/limits.py): orjson of a 256-image
body into float32, and the model's tf.function and numpy forwards at batch 256. The run prints a
table, the ratios ours / how-to and each target with its bound and verdict, and writes
bench/results/score_throughput.csv and a JSON file with the limits, the load generator's own
cost and the verdicts. Every load is bounded in
time and request count and stays on 127.0.0.1; every server started is stopped.
`--quick` runs a reduced matrix (workers = cores, concurrency 8) in under two minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import report
from bench.drivers import LOADGEN_HELP, LoadSpec, resolve_driver, run_load
from bench.payloads import BODY_FORMATS, digit_images
from deployment.backend import DeploymentFailed
from deployment.local.handle import LocalHandle
from deployment.local.inference_server import NotHealthy
from harness.local_service import SOURCE_DIR, local_service
from harness.procfs import tree_cpu_s, wait_idle
from harness.server import InferenceServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCORING_BIN = Path(sys.executable).parent
DEFAULT_MODEL_DIR = PROJECT_ROOT / "artifacts" / "model"
DEFAULT_OUT_DIR = PROJECT_ROOT / "bench" / "results"
LOCAL_ENTRY_SCRIPT = (SOURCE_DIR / "score.py").resolve()
VARIANTS = ("howto", "ours_json", "ours_uint8", "ours_float32")


@dataclass(frozen=True)
class ServedScript:
    """An entry script and the variants (one per body format) measured against it."""

    name: str
    entry_script: Path
    variants: dict[str, str]  # variant name -> body format


@dataclass(frozen=True)
class Matrix:
    variants: tuple[str, ...]
    workers: tuple[int, ...]
    concurrency: tuple[int, ...]
    images: tuple[int, ...]
    duration_s: float
    warmup_s: float
    max_requests: int
    limit_seconds: float
    rounds: int = 3  # rounds per cell when cells sending the same body are measured together


def served_scripts(variants: Sequence[str]) -> list[ServedScript]:
    """The entry scripts to start, each with the requested variants it serves."""
    candidates = [
        ServedScript("howto", PROJECT_ROOT / "bench" / "variants" / "howto_score.py", {"howto": "json"}),
        ServedScript(
            "ours", LOCAL_ENTRY_SCRIPT, {f"ours_{fmt}": fmt for fmt in ("json", "uint8", "float32")}
        ),
    ]
    chosen = []
    for script in candidates:
        kept = {name: fmt for name, fmt in script.variants.items() if name in variants}
        if kept:
            chosen.append(ServedScript(script.name, script.entry_script, kept))
    return chosen


def ensure_model(model_dir: Path) -> Path:
    """The trained model to serve; trained on scikit-learn's digits first if the directory has none."""
    if any(model_dir.rglob("saved_model.pb")):
        return model_dir
    print(f"no SavedModel in {model_dir}: training one (model_tools.train --digits)", flush=True)
    subprocess.run(
        [sys.executable, "-m", "model_tools.train", "--digits", "--out", str(model_dir)],
        cwd=PROJECT_ROOT,
        check=True,
    )
    return model_dir


def best_limits(first: dict[str, float], second: dict[str, float]) -> dict[str, float]:
    """The better of two limit measurements, figure by figure (the machine may be shared: the less
    disturbed one is the truer limit, and a higher limit only makes our ratios stricter)."""
    best = {}
    for key, value in first.items():
        other = second.get(key, value)
        best[key] = (
            max(value, other)
            if key.endswith("_per_s") or key.endswith("_per_s_per_core")
            else min(value, other)
        )
    return best


def measure_limits(model_dir: Path, seconds: float) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.limits", "--model-dir", str(model_dir), "--seconds", str(seconds)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench.limits failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def post(url: str, body: bytes, content_type: str, timeout_s: float = 120.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def check_predictions(variant: str, status: int, payload: bytes, images: int) -> list[int]:
    """The digits a model variant answered, after checking they are a list of `images` digits.

    Raises RuntimeError naming the variant if the server answered anything else (a wrong
    Content-Type contract, a crash): the bench must not time error responses as throughput.
    """
    if status != 200:
        raise RuntimeError(f"{variant}: sanity request answered {status}: {payload[:300]!r}")
    digits = json.loads(payload)
    if not (isinstance(digits, list) and len(digits) == images and all(d in range(10) for d in digits)):
        raise RuntimeError(f"{variant}: expected a list of {images} digits, got {payload[:300]!r}")
    return digits


def run_matrix(
    matrix: Matrix,
    scripts: Sequence[ServedScript],
    model_dir: Path,
    driver: str,
    work_dir: Path,
) -> tuple[list[report.Row], dict[str, list[int]], list[str]]:
    """Serve and drive every cell; returns the rows, each variant's 256-image answers, and failures.

    At each worker count every script is served at once, and the cells that send the same body
    (the how-to and ours with JSON; on every path) are measured together in alternating
    rounds: each ratio the run prints compares figures taken side by side in time."""
    pixels = digit_images(max(matrix.images))
    formats = sorted({fmt for script in scripts for fmt in script.variants.values()})
    bodies: dict[tuple[str, int], Path] = {}
    for fmt in formats:
        for images in matrix.images:
            path = work_dir / f"body-{fmt}-{images}.bin"
            path.write_bytes(BODY_FORMATS[fmt].encode(pixels[:images]))
            bodies[(fmt, images)] = path

    rows: list[report.Row] = []
    answers: dict[str, list[int]] = {}
    failures: list[str] = []
    for workers in matrix.workers:
        with contextlib.ExitStack() as servers:
            served: list[tuple[ServedScript, int, dict[str, str]]] = []
            for script in scripts:
                began = time.perf_counter()
                try:
                    server_pid, urls = servers.enter_context(serve(script, model_dir, workers, work_dir))
                except (NotHealthy, DeploymentFailed) as error:
                    failures.append(str(error))
                    print(f"  FAILED {error}", flush=True)
                    continue
                served.append((script, server_pid, urls))
                print(
                    f"[{script.name} w={workers}] ready in {time.perf_counter() - began:.1f} s: "
                    + ", ".join(f"{path} {url}" for path, url in urls.items()),
                    flush=True,
                )
            for fmt in formats:
                for images in matrix.images:
                    cells = [
                        Cell(variant, fmt, images, workers, path, url, server_pid)
                        for script, server_pid, urls in served
                        for variant, variant_fmt in script.variants.items()
                        if variant_fmt == fmt
                        for path, url in urls.items()
                    ]
                    if cells:
                        rows += drive_group(matrix, cells, bodies[(fmt, images)], driver, answers, failures)
    return rows, answers, failures


@dataclass(frozen=True)
class Cell:
    variant: str
    fmt: str
    images: int
    workers: int
    path: str  # "direct" or "scoring_uri"
    url: str
    server_pid: int  # the server answering `url`, with its workers below it


@contextlib.contextmanager
def serve(
    script: ServedScript, model_dir: Path, workers: int, work_dir: Path
) -> Iterator[tuple[int, dict[str, str]]]:
    """The server's process id and the scoring URLs of `script` served by `workers` workers, by
    path. Our entry script is deployed as the local target is, by the real LocalBackend: measured
    through its scoring URI and at its release's own port, the same processes; the how-to is a
    bare azmlinfsrv measured directly."""
    if script.name == "ours":
        state_dir = work_dir / f"state-w{workers}"
        with local_service(model_dir, state_dir, name=f"bench-w{workers}", workers=workers) as live:
            release = LocalHandle.from_dict(live.handle).release
            urls = {"direct": f"http://127.0.0.1:{release.port}/score", "scoring_uri": live.scoring_uri}
            yield release.process.pid, urls
        return
    log_path = work_dir / f"server-{script.name}-w{workers}.log"
    with InferenceServer(
        script.entry_script,
        model_dir,
        workers=workers,
        python=SCORING_BIN / "python",
        log_path=log_path,
        cwd=PROJECT_ROOT,
    ) as server:
        assert server.process is not None
        yield server.process.pid, {"direct": server.score_url}


def drive_group(
    matrix: Matrix,
    cells: Sequence[Cell],
    body_path: Path,
    driver: str,
    answers: dict[str, list[int]],
    failures: list[str],
) -> list[report.Row]:
    """Check that each cell answers correctly and warm its workers (a cell that does not is
    reported and left out), then measure each concurrency on all of them together."""
    content_type = BODY_FORMATS[cells[0].fmt].content_type
    checked = []
    for cell in cells:
        status, payload = post(cell.url, body_path.read_bytes(), content_type)
        try:
            digits = check_predictions(cell.variant, status, payload, cell.images)
        except RuntimeError as error:
            failures.append(str(error))
            print(f"  FAILED {error}", flush=True)
            continue
        if cell.images == max(matrix.images):
            answers[cell.variant] = digits
        warm = LoadSpec(cell.url, body_path, content_type, 2 * cell.workers, matrix.warmup_s, 10_000)
        run_load(driver, warm)  # first calls per worker (tracing, caches) are not part of the figures
        wait_idle(cell.server_pid)
        checked.append(cell)
    rows = []
    for concurrency in matrix.concurrency:
        if len(checked) == 1:
            rows.append(measure(matrix, checked[0], concurrency, body_path, content_type, driver))
        elif checked:
            rows += measure_together(matrix, checked, concurrency, body_path, content_type, driver)
    return rows


def round_order(cells: int, rounds: int) -> list[int]:
    """Which cell each round measures: 0 1 1 0 0 1 for two cells and three rounds, 0 1 2 2 1 0 ...
    for three (each cell first and last in turn, so a load that rises or falls while they are
    measured weighs on all of them alike)."""
    order: list[int] = []
    for turn in range(rounds):
        sequence = list(range(cells))
        order += sequence if turn % 2 == 0 else sequence[::-1]
    return order


def measure_together(
    matrix: Matrix, cells: Sequence[Cell], concurrency: int, body_path: Path, content_type: str, driver: str
) -> list[report.Row]:
    """One concurrency on every cell, in alternating rounds; per cell the median round (req/s,
    p50 and p99 each), with the errors of all its rounds."""
    round_s = max(1.0, float(int(matrix.duration_s / 2)))
    short = dataclasses.replace(matrix, duration_s=round_s)
    by_cell: dict[int, list[report.Row]] = {index: [] for index in range(len(cells))}
    for index in round_order(len(cells), matrix.rounds):
        by_cell[index].append(measure(short, cells[index], concurrency, body_path, content_type, driver))
    return [report.median_row(rounds) for rounds in by_cell.values()]


def measure(
    matrix: Matrix, cell: Cell, concurrency: int, body_path: Path, content_type: str, driver: str
) -> report.Row:
    spec = LoadSpec(cell.url, body_path, content_type, concurrency, matrix.duration_s, matrix.max_requests)
    server_cpu_s = tree_cpu_s(cell.server_pid)
    result = run_load(driver, spec)
    # The client stops at its deadline, the server does not: it still answers the requests that
    # were queued (the how-to's take ~1 s of both cores at c=8), which would fall on the next
    # round, of another cell.
    wait_idle(cell.server_pid)
    server_cpu_s = tree_cpu_s(cell.server_pid) - server_cpu_s
    requests = result.ok + result.errors
    row = report.Row(
        variant=cell.variant,
        images_per_request=cell.images,
        concurrency=concurrency,
        workers=cell.workers,
        req_per_s=result.ok / result.elapsed_s if result.elapsed_s > 0 else 0.0,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        errors=result.errors,
        client_cpu_share=result.client_cpu_s / result.elapsed_s if result.elapsed_s > 0 else 0.0,
        client_cpu_ms_per_request=1e3 * result.client_cpu_s / requests if requests else float("nan"),
        path=cell.path,
        server_cpu_ms_per_request=1e3 * server_cpu_s / result.ok if result.ok else float("nan"),
    )
    error_note = f"  first error: {result.first_error}" if result.first_error else ""
    print(
        f"  {cell.variant:<13} {cell.path:<11} img={cell.images:<4} c={concurrency:<3} w={cell.workers}: "
        f"{row.req_per_s:9.1f} req/s "
        f"{row.images_per_s:10.0f} img/s  p50 {row.p50_ms:7.1f} ms  p99 {row.p99_ms:7.1f} ms  "
        f"errors {row.errors}{error_note}",
        flush=True,
    )
    return row


def client_summary(rows: Sequence[report.Row], driver: str) -> dict[str, float | str]:
    """The load generator's own cost, from the cell with the highest request rate."""
    busiest = max(rows, key=lambda r: r.req_per_s, default=None)
    if busiest is None or not busiest.client_cpu_ms_per_request > 0:
        return {"driver": driver}
    return {
        "driver": driver,
        "busiest_cell": f"{busiest.variant} img={busiest.images_per_request} c={busiest.concurrency} "
        f"w={busiest.workers}",
        "busiest_req_per_s": busiest.req_per_s,
        "client_cpu_ms_per_request": busiest.client_cpu_ms_per_request,
        "client_ceiling_req_per_s_per_core": 1e3 / busiest.client_cpu_ms_per_request,
        "client_cpu_share_at_busiest": busiest.client_cpu_share,
    }


def format_limits(limits: dict[str, float], client: dict[str, float | str]) -> str:
    lines = ["limits (one core each, measured alone in this run):"]
    if limits:
        lines += [
            f"  JSON parse, orjson -> float32, 256 images: {limits['parse_orjson_ms']:.1f} ms "
            f"= {limits['parse_orjson_images_per_s']:,.0f} images/s "
            f"(how-to's json.loads + np.array: {limits['parse_howto_ms']:.1f} ms)",
            f"  JSON decode, our scorer (simdjson + checks), 256 images: {limits['parse_ours_ms']:.1f} ms "
            f"= {limits['parse_ours_images_per_s']:,.0f} images/s",
            f"  uint8 body -> float32, 256 images: {limits['decode_uint8_ms']:.2f} ms",
            f"  model forward (tf.function, 1 thread), batch 256: {limits['forward_batch256_ms']:.2f} ms "
            f"= {limits['forward_images_per_s_per_core']:,.0f} images/s; batch 1: "
            f"{limits['forward_batch1_ms']:.2f} ms",
            f"  model forward (numpy, 1 BLAS thread), batch 256: "
            f"{limits['forward_numpy_batch256_ms']:.2f} ms "
            f"= {limits['forward_numpy_images_per_s_per_core']:,.0f} images/s; batch 1: "
            f"{limits['forward_numpy_batch1_ms']:.2f} ms",
        ]
    if "client_cpu_ms_per_request" in client:
        lines.append(
            f"  load generator ({client['driver']}): {client['client_cpu_ms_per_request']:.3f} ms CPU "
            f"per request = ceiling ~{client['client_ceiling_req_per_s_per_core']:,.0f} req/s on one core; "
            f"at the busiest "
            f"cell ({client['busiest_cell']}, {client['busiest_req_per_s']:,.0f} req/s) it used "
            f"{client['client_cpu_share_at_busiest']:.0%} of a core"
        )
    return "\n".join(lines)


def format_agreement(answers: dict[str, list[int]]) -> str:
    reference = answers.get("howto")
    if reference is None:
        return ""
    parts = []
    for variant, digits in sorted(answers.items()):
        if variant != "howto":
            same = sum(a == b for a, b in zip(digits, reference, strict=True))
            parts.append(f"{variant} {same}/{len(reference)}")
    return "predictions equal to the how-to's on the largest batch: " + ", ".join(parts)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cores = os.cpu_count() or 1
    parser.add_argument("--quick", action="store_true", help="reduced matrix, under two minutes")
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--loadgen", default="auto", help=LOADGEN_HELP)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--workers", default=None, help=f"comma-separated; default 1,{cores} (quick {cores})")
    parser.add_argument("--concurrency", default=None, help="comma-separated; default 1,8,32 (quick: 8)")
    parser.add_argument("--images", default="1,256", help="comma-separated images per request")
    parser.add_argument("--duration", type=float, default=None, help="seconds per cell; default 5 (quick 2)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds; default 1 (quick 0.5)")
    parser.add_argument("--max-requests", type=int, default=50_000, help="per cell")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per cell measured together")
    parser.add_argument("--limit-seconds", type=float, default=None, help="per limit; default 2 (quick 0.5)")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    args.cores = cores
    return args


def _int_list(flag: str, text: str) -> tuple[int, ...]:
    try:
        values = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise SystemExit(f"{flag} {text!r}: expected comma-separated positive integers") from None
    if not values or min(values) < 1:
        raise SystemExit(f"{flag} {text!r}: expected comma-separated positive integers")
    return values


def build_matrix(args: argparse.Namespace) -> Matrix:
    variants = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or not variants:
        raise SystemExit(f"--variants {args.variants!r}: unknown {unknown}; allowed: {', '.join(VARIANTS)}")
    quick = args.quick
    return Matrix(
        variants=variants,
        workers=_int_list("--workers", args.workers or (str(args.cores) if quick else f"1,{args.cores}")),
        concurrency=_int_list("--concurrency", args.concurrency or ("8" if quick else "1,8,32")),
        images=_int_list("--images", args.images),
        duration_s=args.duration or (2.0 if quick else 5.0),
        warmup_s=args.warmup or (0.5 if quick else 1.0),
        max_requests=args.max_requests,
        limit_seconds=args.limit_seconds or (0.5 if quick else 2.0),
        rounds=_int_list("--rounds", str(args.rounds))[0],
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    matrix = build_matrix(args)
    try:
        driver = resolve_driver(args.loadgen)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    started = time.perf_counter()
    model_dir = ensure_model(args.model_dir.resolve())
    print(
        f"model {model_dir}; {args.cores} cores; load generator {driver}; load average "
        f"{os.getloadavg()[0]:.1f}; matrix {matrix}",
        flush=True,
    )
    limits_before = measure_limits(model_dir, matrix.limit_seconds)
    scripts = served_scripts(matrix.variants)
    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp:
        rows, answers, failures = run_matrix(matrix, scripts, model_dir, driver, Path(tmp))
    limits = best_limits(limits_before, measure_limits(model_dir, matrix.limit_seconds))
    client = client_summary(rows, driver)
    checks = report.target_checks(rows, limits, max(matrix.workers))
    checks += report.path_checks(rows, max(matrix.workers))

    print()
    print(report.format_table(rows))
    print()
    print(format_limits(limits, client))
    print()
    print(report.format_ratios(rows, max(matrix.workers)))
    print()
    path_ratios = report.format_path_ratios(rows)
    if path_ratios:
        print(path_ratios)
        print()
    print(report.format_checks(checks))
    agreement = format_agreement(answers)
    if agreement:
        print(agreement)

    out_dir = args.out_dir
    report.write_csv(rows, out_dir / "score_throughput.csv")
    summary = {
        "limits": limits,
        "client": client,
        "cores": args.cores,
        "load_average_at_end": os.getloadavg()[0],
        "targets": [
            {"name": c.name, "measured": c.measured, "bound": c.bound, "met": c.met, "how": c.how}
            for c in checks
        ],
        "failures": failures,
    }
    (out_dir / "score_throughput_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"\nwrote {out_dir}/score_throughput.csv and _summary.json in {time.perf_counter() - started:.0f} s"
    )
    if failures:
        print(f"{len(failures)} part(s) failed:\n  " + "\n  ".join(f.splitlines()[0] for f in failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
