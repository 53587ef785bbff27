"""Detached processes: own session, start-time identity, stopping the whole group."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployment.local.process import (
    ProcessRecord,
    environment_for_child,
    exit_code,
    is_running,
    start_detached,
    start_ticks,
    stop,
)
from harness.server import wait_gone


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[ProcessRecord]]:
    """Records of processes a test started; whatever is left is killed afterwards."""
    records: list[ProcessRecord] = []
    yield records
    for record in records:
        if start_ticks(record.pid) == record.start_ticks:
            os.killpg(record.pid, signal.SIGKILL)


def _start(tmp_path: Path, script: str, records: list[ProcessRecord]) -> ProcessRecord:
    record = start_detached(
        ["/bin/sh", "-c", script], cwd=tmp_path, env={"PATH": os.environ["PATH"]}, log_path=tmp_path / "log"
    )
    records.append(record)
    return record


def _children_of_group(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def test_a_detached_process_leads_its_own_session_and_logs_to_its_file(tmp_path: Path, started):
    record = _start(tmp_path, "echo hello; exec sleep 60", started)
    assert os.getsid(record.pid) == record.pid
    assert is_running(record)
    deadline = time.monotonic() + 10
    while b"hello" not in (tmp_path / "log").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b"hello" in (tmp_path / "log").read_bytes()


def test_stop_ends_the_whole_group(tmp_path: Path, started):
    record = _start(tmp_path, "sleep 60 & sleep 60 & wait", started)
    deadline = time.monotonic() + 10
    while len(_children_of_group(record.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_children_of_group(record.pid)) == 3
    stop(record)
    assert not is_running(record)
    assert _children_of_group(record.pid) == []


def test_a_process_that_ignores_term_is_killed_after_the_grace_period(tmp_path: Path, started):
    record = _start(tmp_path, "trap '' TERM; while true; do sleep 0.1; done", started)
    time.sleep(0.3)  # let the shell install its trap
    stop(record, grace_s=0.5)
    assert wait_gone(record, timeout_s=5)


def test_a_reused_pid_is_not_ours_and_is_never_signalled(tmp_path: Path, started):
    real = _start(tmp_path, "exec sleep 60", started)
    impostor = ProcessRecord(real.pid, real.start_ticks + 1)  # same pid, another start time
    assert not is_running(impostor)
    stop(impostor)
    assert is_running(real)


def test_a_stopped_process_is_gone_and_stopping_again_is_fine(tmp_path: Path, started):
    record = _start(tmp_path, "exec sleep 60", started)
    stop(record)
    assert not is_running(record)
    stop(record)


def test_the_child_environment_carries_no_credentials():
    environ = {"PATH": "/bin", "HOME": "/root", "AZURE_CLIENT_SECRET": "s3cret", "PULUMI_ACCESS_TOKEN": "t"}
    env = environment_for_child(environ, {"AZUREML_MODEL_DIR": "/m"})
    assert env == {"PATH": "/bin", "HOME": "/root", "AZUREML_MODEL_DIR": "/m"}


def test_the_exit_code_of_our_child_is_known_once_it_has_ended(tmp_path: Path, started: list[ProcessRecord]):
    record = _start(tmp_path, "sleep 0.2; exit 3", started)
    assert exit_code(record) is None  # still running
    assert wait_gone(record, 10.0)
    assert exit_code(record) == 3


def test_only_the_descriptors_passed_reach_the_child(tmp_path: Path, started: list[ProcessRecord]):
    read_end, write_end = os.pipe()  # the write ends are what a child could inherit
    other_read, other_write = os.pipe()
    os.set_inheritable(write_end, True)
    os.set_inheritable(other_write, True)
    try:
        script = f"ls /proc/$$/fd > {tmp_path / 'fds'}"
        record = start_detached(
            ["/bin/sh", "-c", script],
            cwd=tmp_path,
            env={"PATH": os.environ["PATH"]},
            log_path=tmp_path / "log",
            pass_fds=(write_end,),
        )
        started.append(record)
        assert wait_gone(record, 10.0)
        child_fds = set((tmp_path / "fds").read_text().split())
        assert str(write_end) in child_fds and str(other_write) not in child_fds
    finally:
        for fd in (read_end, write_end, other_read, other_write):
            os.close(fd)
