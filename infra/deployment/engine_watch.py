"""Ends the dynamic provider host when the engine that started it has gone.

The engine starts the host as `python -m pulumi.dynamic <engine address>`. Pulumi's Go plugins
health-check the engine and exit when it dies; the Python host does not, so a `pulumi up` killed
with SIGKILL leaves it running for good, finishing whatever it was doing for nobody (its result
is never recorded). The provider starts this watch on its first call: once the engine's address
refuses connections a few times in a row, the host exits. What it leaves half-done is found on
the next `up` (the local backend replaces an interrupted create of the same stack).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence

CHECK_INTERVAL_S = 1.0
MISSES_BEFORE_EXIT = 3
_started = threading.Lock()
_watching = False


def engine_address(argv: Sequence[str]) -> tuple[str, int] | None:
    """The `host:port` the engine passed as the host's first argument, if any."""
    if len(argv) < 2:
        return None
    host, _, port = argv[1].rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


def engine_answers(address: tuple[str, int], timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection(address, timeout=timeout_s):
            return True
    except OSError:
        return False


def watch_engine(
    argv: Sequence[str] | None = None,
    *,
    interval_s: float = CHECK_INTERVAL_S,
    exit_process: Callable[[int], None] = os._exit,
) -> bool:
    """Start the watch once per process; False when there is no engine address to watch."""
    global _watching
    address = engine_address(sys.argv if argv is None else argv)
    if address is None:
        return False
    with _started:
        if _watching:
            return True
        _watching = True

    def run() -> None:
        misses = 0
        while True:
            time.sleep(interval_s)
            misses = 0 if engine_answers(address) else misses + 1
            if misses >= MISSES_BEFORE_EXIT:
                print(
                    f"the engine at {address[0]}:{address[1]} is gone: the provider host exits",
                    file=sys.stderr,
                )
                exit_process(1)
                return

    threading.Thread(target=run, name="engine-watch", daemon=True).start()
    return True
