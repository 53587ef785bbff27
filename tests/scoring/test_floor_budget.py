"""bench/floor_budget.py: the floor's CPU budget and each scoring step's cost once served."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.floor_budget import FLOOR, Round, budget_ms, chosen_variants, format_table, summarize
from bench.procfs import tree_cpu_s, wait_idle

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_budget_for_90_percent_of_the_floor_is_a_ninth_of_its_cpu() -> None:
    assert budget_ms(0.9) == pytest.approx(0.1)
    assert budget_ms(0.8, share=0.8) == pytest.approx(0.2)


def test_shares_compare_each_round_with_the_floor_round_of_the_same_turn() -> None:
    rounds = {
        FLOOR: [Round(2000.0, 0.80, 0), Round(1000.0, 0.90, 0), Round(2200.0, 0.78, 0)],
        "essential": [Round(1800.0, 0.90, 0), Round(950.0, 1.00, 1), Round(1900.0, 0.88, 0)],
    }
    floor, essential = summarize(rounds)
    assert (floor.share_by_cpu, floor.share_by_req_per_s, floor.cpu_over_floor_ms) == (1.0, 1.0, 0.0)
    assert essential.cpu_ms_per_request == pytest.approx(0.90)
    assert essential.cpu_over_floor_ms == pytest.approx(0.10)
    assert essential.share_by_cpu == pytest.approx(0.80 / 0.90)
    # per turn: 0.9, 0.95, 0.8636: a load that halved both in turn 2 does not move the ratio
    assert essential.share_by_req_per_s == pytest.approx(0.9)
    assert essential.errors == 1
    table = format_table([floor, essential])
    assert "for 90% of the floor a scorer may add 0.089 ms of worker CPU per request" in table


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
