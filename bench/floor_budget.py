"""The constant floor's budget: what each step of JSON scoring costs once served, in worker CPU.

    .venv-scoring/bin/python bench/floor_budget.py [--variants constant,essential,...] [--rounds 6]
        [--seconds 3] [--concurrency 8] [--workers CORES] [--loadgen auto|wrk|hey|python]
        [--model-dir DIR] [--script NAME=PATH ...]

Serves each variant in its own azmlinfsrv (same workers, same logging.json, a 1-image JSON body):

    constant           bench/variants/constant_score.py   the floor: reads the body, answers "[0]"
    essential:parse    bench/variants/essential_score.py  the floor + the body's parse
    essential:product  the same script                    the floor + the first layer's product
    essential          the same script                    both: the work any scorer must do
    ours_json          model_service/score.py             our scorer

and `--script NAME=PATH` adds an entry script to try beside them. The load generator (wrk if
installed, as bench/score_throughput.py picks it) drives one server at a time, with a round of the
floor before and after every round of another variant (after each round the server is left to
finish what its client abandoned at its deadline). The CPU time the server's processes spent in a
round (/proc: user + system of the server and its workers) is divided by the requests answered,
and each round is compared with the mean of the two floor rounds around it: the shares printed
are medians of those per-round ratios, by CPU per request and by requests/s. Worker CPU per
request moves less with the load other jobs put on the shared cores than requests/s does. The
floor's CPU per request sets the budget: for 90% of the floor a scorer may add floor / 9. Prints
a table and the verdict for our JSON scorer, and writes bench/results/floor_budget.json.
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

from bench.drivers import LOADGEN_HELP, LoadSpec, resolve_driver, run_load
from bench.payloads import BODY_FORMATS, digit_images
from bench.procfs import tree_cpu_s, wait_idle
from bench.score_throughput import DEFAULT_MODEL_DIR, DEFAULT_OUT_DIR
from deployment.inference_server import ENTRY_SCRIPT, InferenceServer

VARIANTS_DIR = Path(__file__).resolve().parent / "variants"
FLOOR = "constant"
OURS = "ours_json"
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
    Variant(OURS, ENTRY_SCRIPT),
)


@dataclass(frozen=True)
class Round:
    req_per_s: float
    cpu_ms_per_request: float
    errors: int


@dataclass(frozen=True)
class Summary:
    name: str
    req_per_s: float  # medians over the variant's rounds
    cpu_ms_per_request: float
    cpu_over_floor_ms: float  # median over rounds of its CPU less its neighbouring floor rounds'
    share_by_cpu: float  # median over rounds of the neighbouring floor rounds' CPU over its own
    share_by_req_per_s: float  # median over rounds of its req/s over the neighbouring floor rounds'
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


def bracketed_order(variants: Sequence[str], rounds: int) -> list[str]:
    """The floor before and after every round of another variant (F a F b F b F a F for two
    variants and two rounds; the others' order alternates per turn), so that each round is
    compared with floor rounds taken just before and just after it."""
    order = [FLOOR]
    others = [name for name in variants if name != FLOOR]
    for turn in range(rounds):
        for name in others if turn % 2 == 0 else others[::-1]:
            order += [name, FLOOR]
    return order


def summarize(timeline: Sequence[tuple[str, Round]]) -> list[Summary]:
    """Each variant's figures from `timeline` (rounds in the order measured, bracketed_order):
    each of its rounds against the mean of the floor rounds just before and after it."""
    by_name: dict[str, list[Round]] = {}
    relative: dict[str, list[tuple[float, float, float]]] = {}
    for index, (name, figures) in enumerate(timeline):
        by_name.setdefault(name, []).append(figures)
        if name == FLOOR:
            continue
        if (
            not 0 < index < len(timeline) - 1
            or timeline[index - 1][0] != FLOOR
            or timeline[index + 1][0] != FLOOR
        ):
            raise ValueError(f"round {index} ({name}) is not between two floor rounds")
        before, after = timeline[index - 1], timeline[index + 1]
        floor_cpu = (before[1].cpu_ms_per_request + after[1].cpu_ms_per_request) / 2
        floor_req = (before[1].req_per_s + after[1].req_per_s) / 2
        relative.setdefault(name, []).append(
            (
                figures.cpu_ms_per_request - floor_cpu,
                floor_cpu / figures.cpu_ms_per_request,
                figures.req_per_s / floor_req,
            )
        )
    summaries = []
    for name, figures in by_name.items():
        over, by_cpu, by_req = (
            zip(*relative[name], strict=True) if name != FLOOR else ((0.0,), (1.0,), (1.0,))
        )
        summaries.append(
            Summary(
                name=name,
                req_per_s=median(r.req_per_s for r in figures),
                cpu_ms_per_request=median(r.cpu_ms_per_request for r in figures),
                cpu_over_floor_ms=median(over),
                share_by_cpu=median(by_cpu),
                share_by_req_per_s=median(by_req),
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
    ours = next((s for s in summaries if s.name == OURS), None)
    if ours is not None:
        verdict = "MET" if ours.share_by_req_per_s >= TARGET_SHARE else "MISSED"
        lines.append(
            f"{verdict}: ours JSON / constant floor at 1 image {ours.share_by_req_per_s:.1%} by req/s, "
            f"{ours.share_by_cpu:.1%} by CPU per request (target >= {TARGET_SHARE:.0%} of req/s)"
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
    parser.add_argument("--loadgen", default="auto", help=LOADGEN_HELP)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=3, help="whole seconds per round (wrk's -d)")
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
) -> list[tuple[str, Round]]:
    """A warm-up load per server, then the rounds in bracketed order, as measured."""
    content_type = BODY_FORMATS["json"].content_type

    def load(server: InferenceServer, seconds: int) -> LoadSpec:
        return LoadSpec(server.score_url, body_path, content_type, args.concurrency, seconds, 10**7)

    for server in servers.values():
        run_load(args.driver, load(server, 1))  # first calls per worker are not part of the figures
        assert server.process is not None
        wait_idle(server.process.pid)
    timeline: list[tuple[str, Round]] = []
    for name in bracketed_order(list(servers), args.rounds):
        figures = measure_round(servers[name], load(servers[name], args.seconds), args.driver)
        timeline.append((name, figures))
        print(
            f"  {name:<20}{figures.req_per_s:9.0f} req/s {figures.cpu_ms_per_request:8.3f} ms CPU/req",
            flush=True,
        )
    return timeline


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
            timeline = run_rounds(servers, args, body_path)
    summaries = summarize(timeline)
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
