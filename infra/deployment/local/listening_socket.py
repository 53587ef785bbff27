"""Start the local service's front door (front_door.py) and borrow its listening socket.

The door is started with the scoring interpreter from a copy in the service directory, and
publishes its bound port in a ready file; `listening_socket` receives the scoring port's socket
from it over its Unix socket (SCM_RIGHTS), so that a release can be started accepting on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from deployment.local.inference_server import NotHealthy, tail
from deployment.local.process import ProcessRecord, environment_for_child, is_running, start_detached, stop

DOOR_SOURCE = Path(__file__).with_name("front_door.py")
# The copy keeps the name it had before deployment/ had subpackages: a service dir looks the same
# whichever version of the backend started its door.
DOOR_COPY = "local_door.py"
READY_FILE = "door.json"
FD_SOCKET = "door.sock"
LOG_FILE = "door.log"
START_TIMEOUT_S = 15.0
_POLL_S = 0.02


def start_door(
    service_dir: Path, service_file: Path, python: Path, environ: Mapping[str, str]
) -> tuple[ProcessRecord, int]:
    """Start the door on a free loopback port, watching the release recorded in `service_file`;
    returns its process and the port. Raises NotHealthy (with its log) when it does not publish
    its port in time."""
    script = service_dir / DOOR_COPY
    shutil.copyfile(DOOR_SOURCE, script)
    ready = service_dir / READY_FILE
    argv = [str(python), "-I", str(script), "--ready-file", str(ready)]
    argv += ["--fd-socket", str(service_dir / FD_SOCKET), "--service-file", str(service_file)]
    door = start_detached(
        argv, cwd=service_dir, env=environment_for_child(environ, {}), log_path=service_dir / LOG_FILE
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return door, int(json.loads(ready.read_text())["port"])
        if not is_running(door):
            break
        time.sleep(_POLL_S)
    stop(door)
    log = tail(service_dir / LOG_FILE, 20).replace("\n", " | ")
    raise NotHealthy(f"the front door did not start: {log}")


@contextlib.contextmanager
def borrow(service_dir: Path) -> Iterator[socket.socket]:
    """The scoring port's listening socket, received from the running door; closed on exit
    (a release started meanwhile keeps its own copy)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
        channel.settimeout(START_TIMEOUT_S)
        # Through the directory's descriptor, as the door binds it (socket paths are short).
        directory = os.open(service_dir, os.O_RDONLY)
        try:
            channel.connect(f"/proc/self/fd/{directory}/{FD_SOCKET}")
        finally:
            os.close(directory)
        _, fds, _, _ = socket.recv_fds(channel, 16, 1)
    if not fds:
        raise OSError(f"the front door at {service_dir / FD_SOCKET} sent no socket")
    listener = socket.socket(fileno=fds[0])
    try:
        yield listener
    finally:
        listener.close()
