"""The constant floor's budget: what each step of JSON scoring costs once served, in worker CPU.

    .venv-scoring/bin/python bench/floor_budget.py [--variants constant,essential,...] [--rounds 6]
        [--seconds 5] [--concurrency 8] [--workers CORES] [--loadgen auto|wrk|hey|python]
        [--model-dir DIR] [--script NAME=PATH ...]

Serves each variant in its own azmlinfsrv (same workers, same logging.json, a 1-image JSON body):

    constant           bench/variants/constant_score.py   the floor: reads the body, answers "[0]"
    essential:parse    bench/variants/essential_score.py  the floor + the body's parse
    essential:product  the same script                    the floor + the first layer's product
    essential          the same script                    both: the work any scorer must do
    ours_json          model_service/score.py             our scorer

and `--script NAME=PATH` adds an entry script to try beside them. The load generator (wrk if
installed, as bench/score_throughput.py picks it) drives each in turn, in alternating rounds
(bench/score_throughput.py's order; after each round the server is left to finish what its
client abandoned), and the CPU time the server's processes spent in each round (/proc: user +
system of the server and its workers) is divided by the requests answered. Worker CPU per
request hardly moves with the load other jobs put on the shared cores, unlike requests/s, whose
ratios the run prints beside it (median of the per-round ratios to the floor). The floor's CPU
per request sets the budget: for 90% of the floor a scorer may add floor / 9. Prints a table and
writes bench/results/floor_budget.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median

if __package__ in (None, ""):  # run as a script: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.drivers import LoadSpec, resolve_driver, run_load
from bench.payloads import BODY_FORMATS, digit_images
from bench.procfs import tree_cpu_s, wait_idle
from bench.score_throughput import DEFAULT_MODEL_DIR, DEFAULT_OUT_DIR, round_order
from deployment.inference_server import ENTRY_SCRIPT, InferenceServer

VARIANTS_DIR = Path(__file__).resolve().parent / "variants"
FLOOR = "constant"
TARGET_SHARE = 0.9  # issue 15: our JSON at 1 image >= 90% of the floor's requests/s


@dataclass(frozen=True)
class Variant:
    name: str
    entry_script: Path
    env: dict[str, str] = field(default_factory=dict)


STANDARD = (
    Variant(FLOOR, VARIANTS_DIR / "constant_score.py"),
    Variant("essential:parse", VARIANTS_DIR / "essential_score.py", {"ESSENTIAL_STEPS": "parse"}),
    Variant("essential:product", VARIANTS_DIR / "essential_score.py", {"ESSENTIAL_STEPS": "product"}),
    Variant("essential", VARIANTS_DIR / "essential_score.py"),
    Variant("ours_json", ENTRY_SCRIPT),
)


@dataclass(frozen=True)
class Round:
    req_per_s: float
    cpu_ms_per_request: float
    errors: int


@dataclass(frozen=True)
class Summary:
    name: str
    req_per_s: float
    cpu_ms_per_request: float
    cpu_over_floor_ms: float
    share_by_cpu: float  # the floor's CPU per request over this variant's
    share_by_req_per_s: float  # median over rounds of this variant's req/s over the floor's
    errors: int


def chosen_variants(names: str, scripts: Sequence[str]) -> list[Variant]:
    """The standard variants named in `names` (comma-separated, the floor always first), then one
    per NAME=PATH of `scripts`."""
    known = {variant.name: variant for variant in STANDARD}
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise SystemExit(f"--variants: unknown {unknown}; allowed: {', '.join(known)}")
    chosen = [known[FLOOR]] + [known[name] for name in wanted if name != FLOOR]
    for pair in scripts:
        name, sep, path = pair.partition("=")
        if not sep or not name or not Path(path).is_file() or name in known:
            raise SystemExit(
                f"--script {pair!r}: expected NAME=PATH of an entry script, NAME not one of ours"
            )
        chosen.append(Variant(name, Path(path).resolve()))
    return chosen


def summarize(rounds: dict[str, list[Round]]) -> list[Summary]:
    """Each variant's medians, against the floor's; the nth round of every variant is one turn of
    the alternating order, so per-round ratios compare figures taken side by side in time."""
    floor = rounds[FLOOR]
    floor_cpu = median(r.cpu_ms_per_request for r in floor)
    summaries = []
    for name, figures in rounds.items():
        cpu = median(r.cpu_ms_per_request for r in figures)
        ratios = [mine.req_per_s / base.req_per_s for mine, base in zip(figures, floor, strict=True)]
        summaries.append(
            Summary(
                name=name,
                req_per_s=median(r.req_per_s for r in figures),
                cpu_ms_per_request=cpu,
                cpu_over_floor_ms=cpu - floor_cpu,
                share_by_cpu=floor_cpu / cpu if cpu > 0 else float("nan"),
                share_by_req_per_s=median(ratios),
                errors=sum(r.errors for r in figures),
            )
        )
    return summaries


def budget_ms(floor_cpu_ms: float, share: float = TARGET_SHARE) -> float:
    """The CPU a scorer may add per request and still serve `share` of the floor's requests/s."""
    return floor_cpu_ms * (1.0 / share - 1.0)


def format_table(summaries: Sequence[Summary]) -> str:
    floor = next(s for s in summaries if s.name == FLOOR)
    lines = [
        f"{'variant':<20}{'req/s':>9}{'CPU ms/req':>12}{'over floor':>12}{'share by CPU':>14}"
        f"{'by req/s':>10}{'errors':>8}"
    ]
    for s in summaries:
        lines.append(
            f"{s.name:<20}{s.req_per_s:>9.0f}{s.cpu_ms_per_request:>12.3f}{s.cpu_over_floor_ms:>+12.3f}"
            f"{s.share_by_cpu:>14.1%}{s.share_by_req_per_s:>10.1%}{s.errors:>8}"
        )
    lines.append(
        f"for {TARGET_SHARE:.0%} of the floor a scorer may add {budget_ms(floor.cpu_ms_per_request):.3f} ms "
        f"of worker CPU per request (the floor costs {floor.cpu_ms_per_request:.3f} ms)"
    )
    return "\n".join(lines)


def measure_round(server: InferenceServer, spec: LoadSpec, driver: str) -> Round:
    assert server.process is not None
    before = tree_cpu_s(server.process.pid)
    result = run_load(driver, spec)
    wait_idle(server.process.pid)  # what the client abandoned at its deadline is still this round's
    spent_s = tree_cpu_s(server.process.pid) - before
    return Round(
        req_per_s=result.ok / result.elapsed_s if result.elapsed_s > 0 else 0.0,
        cpu_ms_per_request=1e3 * spent_s / result.ok if result.ok else float("nan"),
        errors=result.errors,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(v.name for v in STANDARD))
    parser.add_argument("--script", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument(
        "--loadgen", default="auto", help="auto (wrk if installed, else hey, else python), wrk, hey or python"
    )
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=5, help="whole seconds per round (wrk's -d)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    for flag in ("rounds", "seconds", "concurrency", "workers"):
        if getattr(args, flag) < 1:
            raise SystemExit(f"--{flag} {getattr(args, flag)}: expected an integer >= 1")
    return args


@contextmanager
def served(
    variants: Sequence[Variant], args: argparse.Namespace, work: Path
) -> Iterator[dict[str, InferenceServer]]:
    """One healthy azmlinfsrv per variant, all stopped however the block ends."""
    servers: dict[str, InferenceServer] = {}
    try:
        for variant in variants:
            server = InferenceServer(
                variant.entry_script,
                args.model_dir,
                workers=args.workers,
                env=variant.env,
                python=Path(sys.executable),
                log_path=work / f"{variant.name.replace(':', '-')}.log",
            )
            servers[variant.name] = server
            server.start()
        yield servers
    finally:
        for server in servers.values():
            server.close()


def run_rounds(
    servers: dict[str, InferenceServer], args: argparse.Namespace, body_path: Path
) -> dict[str, list[Round]]:
    """A warm-up load per server, then the alternating rounds."""
    content_type = BODY_FORMATS["json"].content_type

    def load(server: InferenceServer, seconds: int) -> LoadSpec:
        return LoadSpec(server.score_url, body_path, content_type, args.concurrency, seconds, 10**7)

    for server in servers.values():
        run_load(args.driver, load(server, 1))  # first calls per worker are not part of the figures
        assert server.process is not None
        wait_idle(server.process.pid)
    rounds: dict[str, list[Round]] = {name: [] for name in servers}
    names = list(servers)
    for index in round_order(len(names), args.rounds):
        name = names[index]
        figures = measure_round(servers[name], load(servers[name], args.seconds), args.driver)
        rounds[name].append(figures)
        print(
            f"  {name:<20}{figures.req_per_s:9.0f} req/s {figures.cpu_ms_per_request:8.3f} ms CPU/req",
            flush=True,
        )
    return rounds


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    variants = chosen_variants(args.variants, args.script)
    try:
        args.driver = resolve_driver(args.loadgen)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    with tempfile.TemporaryDirectory(prefix="floor-budget-") as temporary:
        work = Path(temporary)
        body_path = work / "body.json"
        body_path.write_bytes(BODY_FORMATS["json"].encode(digit_images(1)))
        with served(variants, args, work) as servers:
            print(
                f"{len(servers)} servers, {args.workers} workers each, load average {os.getloadavg()[0]:.1f}"
            )
            rounds = run_rounds(servers, args, body_path)
    summaries = summarize(rounds)
    print(format_table(summaries))
    floor = next(s for s in summaries if s.name == FLOOR)
    report = {
        "concurrency": args.concurrency,
        "workers": args.workers,
        "rounds": args.rounds,
        "seconds": args.seconds,
        "load_average_at_end": os.getloadavg()[0],
        "budget_ms_for_target": budget_ms(floor.cpu_ms_per_request),
        "variants": [asdict(s) for s in summaries],
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "floor_budget.json").write_text(json.dumps(report, indent=2) + "\n")
    return 1 if any(s.errors for s in summaries) else 0


if __name__ == "__main__":
    raise SystemExit(main())
