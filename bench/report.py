"""Results of the throughput benchmark: rows, the printed table, ratios against targets, the CSV."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import median

CSV_COLUMNS = (
    "variant",
    "path",
    "images_per_request",
    "concurrency",
    "workers",
    "req_per_s",
    "images_per_s",
    "p50_ms",
    "p99_ms",
    "errors",
    "server_cpu_ms_per_request",
)


@dataclass(frozen=True)
class Row:
    """One measured cell: a variant served by `workers` workers, driven at `concurrency`."""

    variant: str
    images_per_request: int
    concurrency: int
    workers: int
    req_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    client_cpu_share: float  # the load generator's CPU seconds per wall second (1.0 = one core)
    client_cpu_ms_per_request: float
    path: str = "direct"  # "direct": the server's own port; "scoring_uri": the local target's URI
    server_cpu_ms_per_request: float = float("nan")  # the server's process tree, from /proc
    # (req/s, p99 ms) of each round, in the order measured; empty for a cell measured alone. Not
    # in the CSV: the ratios between cells measured together are the medians of per-round ratios.
    round_figures: tuple[tuple[float, float], ...] = field(default=(), repr=False)

    @property
    def images_per_s(self) -> float:
        return self.req_per_s * self.images_per_request

    def csv_values(self) -> list[str]:
        return [
            self.variant,
            self.path,
            str(self.images_per_request),
            str(self.concurrency),
            str(self.workers),
            f"{self.req_per_s:.2f}",
            f"{self.images_per_s:.1f}",
            f"{self.p50_ms:.2f}",
            f"{self.p99_ms:.2f}",
            str(self.errors),
            f"{self.server_cpu_ms_per_request:.3f}",
        ]


@dataclass(frozen=True)
class TargetCheck:
    """A performance target (docs/performance.md, Targets): the measured ratio or value, its bound
    and how it was formed."""

    name: str
    measured: float
    bound: float
    at_most: bool  # True: measured must be <= bound (latency); False: >= bound (ratios)
    how: str

    @property
    def met(self) -> bool | None:
        if math.isnan(self.measured):
            return None
        return self.measured <= self.bound if self.at_most else self.measured >= self.bound


def find(
    rows: Iterable[Row], variant: str, images: int, concurrency: int, workers: int, path: str = "direct"
) -> Row | None:
    for row in rows:
        if (row.variant, row.images_per_request, row.concurrency, row.workers, row.path) == (
            variant,
            images,
            concurrency,
            workers,
            path,
        ):
            return row
    return None


def median_row(rounds: Sequence[Row]) -> Row:
    """One row for rounds of the same cell: the median of each figure, the errors of all, and
    each round's req/s and p99."""
    first = rounds[0]
    return replace(
        first,
        req_per_s=median([r.req_per_s for r in rounds]),
        p50_ms=median([r.p50_ms for r in rounds]),
        p99_ms=median([r.p99_ms for r in rounds]),
        errors=sum(r.errors for r in rounds),
        client_cpu_share=median([r.client_cpu_share for r in rounds]),
        client_cpu_ms_per_request=median([r.client_cpu_ms_per_request for r in rounds]),
        server_cpu_ms_per_request=median([r.server_cpu_ms_per_request for r in rounds]),
        round_figures=tuple((r.req_per_s, r.p99_ms) for r in rounds),
    )


def path_pairs(rows: Sequence[Row]) -> list[tuple[Row, Row]]:
    """Each cell measured through the scoring URI, with the same cell measured directly."""
    pairs = []
    for row in rows:
        if row.path == "scoring_uri":
            direct = find(rows, row.variant, row.images_per_request, row.concurrency, row.workers)
            if direct is not None:
                pairs.append((row, direct))
    return pairs


def format_path_ratios(rows: Sequence[Row]) -> str:
    """scoring_uri over direct for every cell measured both ways."""
    lines = [
        "scoring_uri / direct (the same release, its own port vs the scoring URI; "
        "medians of the per-round ratios):"
    ]
    for uri, direct in path_pairs(rows):
        lines.append(
            f"  {uri.variant:<13} img={uri.images_per_request:<4} c={uri.concurrency:<3} w={uri.workers}: "
            f"req/s {_ratio(uri, direct, 'req_per_s'):6.1%}  "
            f"p99 {_ratio(uri, direct, 'p99_ms'):5.2f}x "
            f"({uri.p99_ms:.1f} vs {direct.p99_ms:.1f} ms)"
        )
    return "\n".join(lines) if len(lines) > 1 else ""


# The scoring URI's targets are set at the local target's worker count and at these concurrencies
# (at 1 and 256 images, every body format); other cells measured both ways are printed, not judged.
PATH_TARGET_CONCURRENCY = (1, 8)


def path_checks(rows: Sequence[Row], cores: int) -> list[TargetCheck]:
    """The scoring URI's targets over the cells they are set for (workers = cores, concurrency 1
    and 8; the worst cell counts)."""
    pairs = [
        (uri, direct)
        for uri, direct in path_pairs(rows)
        if uri.workers == cores and uri.concurrency in PATH_TARGET_CONCURRENCY
    ]
    req_ratios = [_ratio(uri, direct, "req_per_s") for uri, direct in pairs if direct.req_per_s > 0]
    p99_ratios = [_ratio(uri, direct, "p99_ms") for uri, direct in pairs if direct.p99_ms > 0]
    cells = f"cells measured both ways at workers={cores}, c={'/'.join(map(str, PATH_TARGET_CONCURRENCY))}"
    return [
        TargetCheck(
            "scoring_uri / direct req/s, worst cell",
            min(req_ratios, default=float("nan")),
            0.9,
            False,
            f"lowest median of per-round ratios over {len(req_ratios)} {cells}",
        ),
        TargetCheck(
            "scoring_uri / direct p99, worst cell",
            max(p99_ratios, default=float("nan")),
            1.25,
            True,
            f"highest median of per-round ratios over {len(p99_ratios)} {cells}",
        ),
    ]


def _ratio(top: Row | None, bottom: Row | None, attribute: str) -> float:
    """`top`'s figure over `bottom`'s. For two cells measured together in alternating rounds, the
    median of the per-round ratios (round k of each is turn k of the order): a load that comes and
    goes between turns falls on both sides of each ratio. Otherwise the ratio of the figures."""
    if top is None or bottom is None or getattr(bottom, attribute) <= 0:
        return float("nan")
    per_round = _PER_ROUND.get(attribute)
    if per_round is not None and top.round_figures and len(top.round_figures) == len(bottom.round_figures):
        ratios = [
            per_round(top, mine) / per_round(bottom, theirs)
            for mine, theirs in zip(top.round_figures, bottom.round_figures, strict=True)
            if per_round(bottom, theirs) > 0
        ]
        if ratios:
            return median(ratios)
    return getattr(top, attribute) / getattr(bottom, attribute)


# A round's figure by attribute name, from (req/s, p99 ms).
_PER_ROUND = {
    "req_per_s": lambda row, figures: figures[0],
    "images_per_s": lambda row, figures: figures[0] * row.images_per_request,
    "p99_ms": lambda row, figures: figures[1],
}


def _over_limit(row: Row | None, limit: float | None) -> float:
    if row is None or not limit:
        return float("nan")
    return row.images_per_s / limit


def target_checks(rows: Sequence[Row], limits: dict[str, float], cores: int) -> list[TargetCheck]:
    """The throughput and latency targets, each from cells of this one run (NaN where a cell was
    not measured): ours JSON >= 50x the how-to's req/s at 1 image and >= 8x its images/s at 256;
    ours JSON >= 90% of the JSON parse limit; binary >= 50% of the model-forward limit; p99 <= 25 ms
    at 1 image.

    All at concurrency 8 and workers = cores, as the targets are set. The limits are single
    figures measured on one core, so "x% of the limit" compares the service on all cores with one
    core's parse or forward.
    """
    parse_limit = limits.get("parse_orjson_images_per_s")
    forward_limit = fastest_forward(limits)
    checks = [
        TargetCheck(
            "ours JSON / how-to, req/s at 1 image, c=8, workers=cores",
            _ratio(find(rows, "ours_json", 1, 8, cores), find(rows, "howto", 1, 8, cores), "req_per_s"),
            50.0,
            False,
            f"req/s ratio at 1 image/request, concurrency 8, {cores} workers",
        ),
        TargetCheck(
            "ours JSON / how-to, images/s at 256 images, c=8, workers=cores",
            _ratio(
                find(rows, "ours_json", 256, 8, cores), find(rows, "howto", 256, 8, cores), "images_per_s"
            ),
            8.0,
            False,
            f"images/s ratio at 256 images/request, concurrency 8, {cores} workers",
        ),
        TargetCheck(
            "ours JSON / JSON parse limit (256 images, c=8, workers=cores)",
            _over_limit(find(rows, "ours_json", 256, 8, cores), parse_limit),
            0.9,
            False,
            "served images/s over orjson-into-float32 images/s on one core",
        ),
    ]
    for fmt in ("uint8", "float32"):
        checks.append(
            TargetCheck(
                f"ours binary {fmt} / model-forward limit (256 images, c=8, workers=cores)",
                _over_limit(find(rows, f"ours_{fmt}", 256, 8, cores), forward_limit),
                0.5,
                False,
                "served images/s over the faster forward (tf.function or numpy) on one core at batch 256",
            )
        )
    p99 = find(rows, "ours_json", 1, 8, cores)
    checks.append(
        TargetCheck(
            "ours JSON p99 ms at 1 image, c=8, workers=cores",
            p99.p99_ms if p99 else float("nan"),
            25.0,
            True,
            "99th percentile latency in ms",
        )
    )
    return checks


def fastest_forward(limits: dict[str, float]) -> float | None:
    """The model-forward limit: images/s per core of the faster forward, TensorFlow's or numpy's
    (the scorer runs numpy on a CPU; the faster one makes the binary targets the stricter)."""
    figures = [
        limits[key]
        for key in ("forward_images_per_s_per_core", "forward_numpy_images_per_s_per_core")
        if limits.get(key)
    ]
    return max(figures) if figures else None


def format_table(rows: Sequence[Row]) -> str:
    header = (
        f"{'variant':<14}{'path':<12}{'img/req':>8}{'conc':>6}{'workers':>8}{'req/s':>10}{'images/s':>11}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}{'client cpu':>11}{'srv ms/req':>11}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.variant:<14}{r.path:<12}{r.images_per_request:>8}{r.concurrency:>6}{r.workers:>8}{r.req_per_s:>10.1f}"
            f"{r.images_per_s:>11.0f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.errors:>7}{r.client_cpu_share:>10.0%}"
            f"{r.server_cpu_ms_per_request:>11.3f}"
        )
    return "\n".join(lines)


def format_ratios(rows: Sequence[Row], cores: int) -> str:
    """ours / how-to for every cell both have, for each of our input formats."""
    lines = ["ratios ours / how-to (same images/request, concurrency, workers): req/s, p99"]
    for howto in (r for r in rows if r.variant == "howto"):
        for fmt in ("json", "uint8", "float32"):
            ours = find(rows, f"ours_{fmt}", howto.images_per_request, howto.concurrency, howto.workers)
            if ours is None:
                continue
            lines.append(
                f"  {fmt:<8} img={howto.images_per_request:<4} c={howto.concurrency:<3} w={howto.workers}: "
                f"{_ratio(ours, howto, 'req_per_s'):8.1f}x throughput, p99 {ours.p99_ms:.1f} vs "
                f"{howto.p99_ms:.1f} ms"
            )
    return "\n".join(lines)


def format_checks(checks: Sequence[TargetCheck]) -> str:
    lines = ["targets, from this run:"]
    for check in checks:
        verdict = {True: "MET", False: "MISSED", None: "not measured"}[check.met]
        relation = "<=" if check.at_most else ">="
        lines.append(
            f"  {verdict:<12} {check.name}: {check.measured:.2f} (target {relation} {check.bound:g})"
        )
    return "\n".join(lines)


def write_csv(rows: Sequence[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(row.csv_values() for row in rows)
