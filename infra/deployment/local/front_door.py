"""The local service's front door: the scoring port itself, held for the life of the service.

    python -I front_door.py --ready-file R --fd-socket S [--service-file F] [--port N]

It binds 127.0.0.1 (a free port unless --port), listens, and hands that listening socket to
whoever connects to the Unix socket S (mode 0600: this user only) as SCM_RIGHTS. The backend
passes it to each release's inference server, which accepts on it directly
(release_launcher.py): clients talk to azmlinfsrv itself, at its own speed and with its own
answers, and the port never changes. During an update the old and the new release accept from
the same queue; the old one is stopped gracefully only after the new one is healthy, so no
connection is refused or reset.

Its one answer of its own: when the release recorded in the service file F is no longer running
(killed outside Pulumi), nothing accepts on the port, and the door answers each waiting client
502 (Bad Gateway: no release behind the door) saying so, instead of leaving it to time out.
Standard library only, run with the scoring interpreter; the backend copies it into the service
directory, so a running service needs no checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
from pathlib import Path

BACKLOG = 1024  # each release adds its socket options (release_launcher.py)
CHECK_S = 0.5
DOWN_MESSAGE = (
    b"the local service's inference server is not running (stopped outside Pulumi?): "
    b"run `pulumi refresh`, then `pulumi up` starts it again\n"
)
DOWN_REPLY = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(DOWN_MESSAGE), DOWN_MESSAGE)
)


def listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(BACKLOG)
    listener.setblocking(False)  # shared with the releases' gunicorn, which wants it so too
    return listener


def serve_descriptor(fd_socket: Path) -> socket.socket:
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


def release_down(service_file: Path) -> bool:
    """True when the service file names a release whose process is gone (or is another program
    now: its start time differs). No file yet (a create in progress) is not down."""
    try:
        process = json.loads(service_file.read_text())["release"]["process"]
        pid, start_ticks = int(process["pid"]), int(process["start_ticks"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0] in ("Z", "X") or int(fields[19]) != start_ticks


def answer_down(listener: socket.socket) -> None:
    """Accept one waiting client, read what it sent (closing on unread bytes would reset the
    connection before it reads the reply), and answer 502."""
    try:
        client, _ = listener.accept()
    except BlockingIOError:  # a release took it after all
        return
    with client:
        client.settimeout(1.0)
        try:
            client.recv(65536)
            client.sendall(DOWN_REPLY)
            client.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--fd-socket", type=Path, required=True)
    parser.add_argument("--service-file", type=Path, help="without it, the door never answers itself")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    listener = listen(args.port)
    server = serve_descriptor(args.fd_socket)
    # Publish the bound port atomically: the backend waits for this file.
    staging = args.ready_file.with_suffix(".tmp")
    staging.write_text(json.dumps({"port": listener.getsockname()[1], "pid": os.getpid()}))
    staging.replace(args.ready_file)
    while True:
        down = args.service_file is not None and release_down(args.service_file)
        watched = [server, listener] if down else [server]
        readable, _, _ = select.select(watched, [], [], CHECK_S)
        if server in readable:
            connection, _ = server.accept()
            with connection:
                socket.send_fds(connection, [b"L"], [listener.fileno()])
        if listener in readable:
            answer_down(listener)


if __name__ == "__main__":
    main()
