"""Detached processes that outlive whoever started them, and how to find them again safely.

A process is recorded as (pid, start time in clock ticks since boot, from /proc/<pid>/stat), so
a pid the kernel has since given to another program is never mistaken for ours or signalled.
Each process leads its own session and process group (`start_new_session`), so stopping it
reaches its children (the inference server's workers) too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STOP_GRACE_S = 10.0
_POLL_S = 0.05


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    start_ticks: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProcessRecord:
        return cls(pid=int(data["pid"]), start_ticks=int(data["start_ticks"]))


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None if there is no such pid."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    return raw[raw.rindex(")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot); None when it does not exist or is a zombie."""
    found = _stat_fields(pid)
    if found is None or found[0] in ("Z", "X"):
        return None
    return int(found[19])  # field 22 of stat(5): starttime


def is_running(record: ProcessRecord) -> bool:
    """True when the recorded process is alive and is still the process we started."""
    _reap(record.pid)
    return start_ticks(record.pid) == record.start_ticks


def start_detached(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    pass_fds: Sequence[int] = (),
) -> ProcessRecord:
    """Start `argv` in its own session with stdout and stderr appended to `log_path`; of the
    caller's descriptors only `pass_fds` (same numbers) reach it."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            pass_fds=tuple(pass_fds),
        )
    ticks = start_ticks(process.pid)
    if ticks is None:  # it died at once; still a valid record of a process that is gone
        ticks = -1
    return ProcessRecord(process.pid, ticks)


_exit_codes: dict[int, int] = {}


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        reaped, status = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            _exit_codes[pid] = os.waitstatus_to_exitcode(status)


def exit_code(record: ProcessRecord) -> int | None:
    """How our own child ended (negative: the signal), once it has; None while it runs or when
    it is not our child."""
    _reap(record.pid)
    return _exit_codes.get(record.pid)


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def stop(record: ProcessRecord, grace_s: float = STOP_GRACE_S) -> None:
    """Stop the recorded process and its process group: TERM, then KILL after `grace_s`.

    Already gone is success. A pid that now belongs to another program is left alone: Linux
    does not hand out a pid while a process group of that id still has members, so if the
    leader's start time differs, nothing of ours is left in that group.
    """
    _reap(record.pid)
    ticks = start_ticks(record.pid)
    if ticks is not None and ticks != record.start_ticks:
        return
    pgid = record.pid
    for signum in (signal.SIGTERM, signal.SIGKILL):
        _signal_group(pgid, signum)
        if _group_gone_within(pgid, grace_s):
            return


def _group_gone_within(pgid: int, timeout_s: float) -> bool:
    """Reap and poll until no process of the group is left; False if some remain at the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _reap(pgid)
        if not _group_exists(pgid):
            return True
        time.sleep(_POLL_S)
    return False


def environment_for_child(environ: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """A minimal environment: the basics a Python process needs plus `extra`. Nothing else of
    the caller's environment (which may hold cloud credentials) reaches the child."""
    basics = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
    env = {name: environ[name] for name in basics if name in environ}
    env.update(extra)
    return env
