"""bench/floor_budget.py: the floor's CPU budget and each scoring step's cost once served."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.floor_budget import (
    FLOOR,
    OURS,
    Round,
    bracketed_order,
    budget_ms,
    chosen_variants,
    format_table,
    summarize,
)
from bench.procfs import tree_cpu_s, wait_idle

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_budget_for_90_percent_of_the_floor_is_a_ninth_of_its_cpu() -> None:
    assert budget_ms(0.9) == pytest.approx(0.1)
    assert budget_ms(0.8, share=0.8) == pytest.approx(0.2)


def test_every_round_of_another_variant_sits_between_two_floor_rounds() -> None:
    assert bracketed_order([FLOOR, "a", "b"], 2) == [FLOOR, "a", FLOOR, "b", FLOOR, "b", FLOOR, "a", FLOOR]
    assert bracketed_order([FLOOR], 3) == [FLOOR]


def test_each_round_is_compared_with_the_floor_rounds_just_before_and_after_it() -> None:
    floor = [Round(2000.0, 0.80, 0), Round(1000.0, 1.60, 0), Round(1000.0, 1.60, 0), Round(2200.0, 0.72, 0)]
    essential = [Round(1350.0, 1.20, 0), Round(950.0, 1.90, 1), Round(1800.0, 1.22, 0)]
    timeline = [(FLOOR, floor[0])]
    for mine, after in zip(essential, floor[1:], strict=True):
        timeline += [("essential", mine), (FLOOR, after)]
    floor_summary, summary = summarize(timeline)
    assert (floor_summary.share_by_cpu, floor_summary.share_by_req_per_s) == (1.0, 1.0)
    assert floor_summary.cpu_ms_per_request == pytest.approx(1.20)  # median of its four rounds
    # Round by round against its neighbours (a load that halved the floor's rate in the middle
    # falls on the variant's middle round alike): req/s 0.9, 0.95, 1.125; CPU over the floor
    # +0.0, +0.3, +0.06; share by CPU 1.0, 0.842, 0.951.
    assert summary.share_by_req_per_s == pytest.approx(0.95)
    assert summary.cpu_over_floor_ms == pytest.approx(0.06)
    assert summary.share_by_cpu == pytest.approx(1.16 / 1.22)
    assert (summary.cpu_ms_per_request, summary.req_per_s, summary.errors) == (1.22, 1350.0, 1)
    table = format_table([floor_summary, summary])
    assert "for 90% of the floor a scorer may add 0.133 ms of worker CPU per request" in table
    assert "ours JSON" not in table  # no verdict without our scorer's rounds

    ours = summarize([(name if name == FLOOR else OURS, figures) for name, figures in timeline])[1]
    assert "MET: ours JSON / constant floor at 1 image 95.0% by req/s, 95.1% by CPU" in format_table(
        [floor_summary, ours]
    )
    with pytest.raises(ValueError, match=r"round 3 \(essential\) is not between two floor rounds"):
        summarize(timeline[:4])  # ends on a round of the variant


def test_the_floor_is_always_measured_first_and_unknown_names_are_refused(tmp_path: Path) -> None:
    assert [v.name for v in chosen_variants("ours_json,essential:parse", [])] == [
        FLOOR,
        "ours_json",
        "essential:parse",
    ]
    with pytest.raises(SystemExit, match=r"unknown \['ours'\]; allowed: constant, essential:parse"):
        chosen_variants("ours", [])
    script = tmp_path / "try_score.py"
    script.write_text("def init(): pass\n")
    tried = chosen_variants(FLOOR, [f"try={script}"])[-1]
    assert (tried.name, tried.entry_script) == ("try", script.resolve())
    for bad in (f"essential={script}", "try", f"try={tmp_path / 'missing.py'}"):
        with pytest.raises(SystemExit, match="expected NAME=PATH of an entry script"):
            chosen_variants(FLOOR, [bad])


def test_tree_cpu_counts_a_process_and_its_busy_children() -> None:
    spin = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"
    spin += "time.sleep(30)"
    parent = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {spin!r}])"]
    )
    try:
        deadline = time.monotonic() + 20
        while tree_cpu_s(parent.pid) < 0.4 and time.monotonic() < deadline:
            time.sleep(0.05)
        spent = tree_cpu_s(parent.pid)
        assert spent >= 0.4  # the child's spin is counted under its parent
        assert spent < 5.0
    finally:
        parent.kill()
        parent.wait()
    assert tree_cpu_s(parent.pid) == 0.0  # gone


def test_waiting_for_idle_lasts_while_the_process_works_and_no_longer() -> None:
    busy = "import time\nend = time.monotonic() + 0.6\nwhile time.monotonic() < end: pass\ntime.sleep(30)"
    worker = subprocess.Popen([sys.executable, "-c", busy])
    try:
        waited = wait_idle(worker.pid)
        assert 0.3 <= waited < 5.0  # the interpreter's start and the spin, then one idle window
        assert wait_idle(worker.pid) < 0.5  # idle now: one window
        assert wait_idle(worker.pid, timeout_s=0.0) == pytest.approx(0.0, abs=0.05)
    finally:
        worker.kill()
        worker.wait()


@pytest.mark.slow
def test_a_short_run_serves_the_floor_and_a_step_and_writes_their_figures(
    trained_model_dir: Path, tmp_path: Path
) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "bench/floor_budget.py",
            f"--model-dir={trained_model_dir}",
            "--variants=constant,essential:parse",
            "--loadgen=python",
            "--rounds=2",
            "--seconds=1",
            "--concurrency=2",
            "--workers=1",
            f"--out-dir={tmp_path}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    report = json.loads((tmp_path / "floor_budget.json").read_text())
    assert [v["name"] for v in report["variants"]] == [FLOOR, "essential:parse"]
    for variant in report["variants"]:
        assert variant["errors"] == 0
        assert variant["req_per_s"] > 0
        assert 0 < variant["cpu_ms_per_request"] < 100
    assert report["budget_ms_for_target"] == pytest.approx(report["variants"][0]["cpu_ms_per_request"] / 9)
    assert "of worker CPU per request" in completed.stdout
