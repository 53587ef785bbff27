"""The local service's front door: the scoring port itself, held for the life of the service.

    python -I local_door.py --ready-file R --fd-socket S [--port N]

It binds 127.0.0.1 (a free port unless --port), listens, and then only hands that listening
socket to whoever connects to the Unix socket S (mode 0600: this user only) as SCM_RIGHTS.
The backend passes it to each release's inference server, which accepts on it directly
(release_launcher.py): clients talk to azmlinfsrv itself, at its own speed and with its own
answers, and the port never changes. During an update the old and the new release accept from
the same queue; the old one is stopped gracefully only after the new one is healthy, so no
connection is refused or reset. Standard library only, run with the scoring interpreter;
the backend copies it into the service directory, so a running service needs no checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from pathlib import Path

BACKLOG = 1024  # each release adds its socket options (release_launcher.py)


def listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(BACKLOG)
    listener.set_inheritable(True)
    return listener


def serve_descriptor(listener: socket.socket, fd_socket: Path) -> socket.socket:
    fd_socket.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    # Through the directory's descriptor: a socket path may hold only 107 bytes, a checkout's
    # state directory may be longer.
    directory = os.open(fd_socket.parent, os.O_RDONLY)
    try:
        server.bind(f"/proc/self/fd/{directory}/{fd_socket.name}")
    finally:
        os.close(directory)
        os.umask(old_umask)
    server.listen(8)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--fd-socket", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    listener = listen(args.port)
    server = serve_descriptor(listener, args.fd_socket)
    # Publish the bound port atomically: the backend waits for this file.
    staging = args.ready_file.with_suffix(".tmp")
    staging.write_text(json.dumps({"port": listener.getsockname()[1], "pid": os.getpid()}))
    staging.replace(args.ready_file)
    while True:
        connection, _ = server.accept()
        with connection:
            socket.send_fds(connection, [b"L"], [listener.fileno()])


if __name__ == "__main__":
    main()
