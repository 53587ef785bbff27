"""Start azmlinfsrv exactly as its console script does (`amlserver.run()`), with three changes:

    python release_launcher.py --client-timeout S --request-deadline S --defer-accept S [--shared-fd N] \
        -- <azmlinfsrv arguments>

- it listens on 127.0.0.1 only (azmlinfsrv binds 0.0.0.0 and has no host option);
- with `--shared-fd N` its gunicorn also accepts on the inherited listening socket N, the local
  service's scoring port, which the front door (front_door.py) holds for the life of the service
  and every release shares; `--port` stays the release's own port (health probes, benchmarks);
- a client cannot hold a worker: the kernel hands a connection over only once it has sent
  something (TCP_DEFER_ACCEPT), one that stayed silent all that time gets a 408 at once, and a
  client that stops sending mid-request times out after `--client-timeout`, instead of blocking
  the worker until gunicorn's worker timeout kills it (and TensorFlow has to load again); one
  that keeps trickling bytes just often enough has its connection's reading side shut down
  `--request-deadline` seconds after it was accepted, so no request holds a worker longer.

Runs with the scoring environment's interpreter (gunicorn, azureml-inference-server-http); used
by the local backend, the tests and the benchmarks alike; the values come from
deployment/local/inference_server.py, which builds this command line.
"""

from __future__ import annotations

import argparse
import contextlib
import select
import socket
import sys
import threading
import time

import azureml_inference_server_http.amlserver as amlserver
import gunicorn.app.wsgiapp as wsgiapp
from gunicorn import util
from gunicorn.workers.sync import SyncWorker

IDLE_REPLY = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def _silent(client: socket.socket) -> bool:
    readable, _, _ = select.select([client], [], [], 0)
    return not readable


class RequestDeadline:
    """Ends the reading side of the connection in hand once it has been open `seconds`.

    A per-recv timeout never fires for a client that sends a byte every few seconds; this bounds
    the whole request. After the request has been read, a shut reading side changes nothing (the
    reply still goes out), so it needs no signal from gunicorn's parser. One thread per worker,
    checking a few times a second, so a request pays only a lock and a dup(): the watched socket
    is a duplicate descriptor of its own, so a descriptor the worker has closed and the kernel has
    given to something else is never shut down.
    """

    tick_s = 0.25

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._watched: socket.socket | None = None
        self._deadline = 0.0
        self._thread: threading.Thread | None = None

    def arm(self, client: socket.socket) -> None:
        if self._thread is None:  # started in the worker, after gunicorn forked it
            self._thread = threading.Thread(target=self._watch, name="request-deadline", daemon=True)
            self._thread.start()
        watched = client.dup()
        with self._lock:
            self._watched, self._deadline = watched, time.monotonic() + self.seconds

    def disarm(self) -> None:
        with self._lock:
            watched, self._watched = self._watched, None
        if watched is not None:
            watched.close()

    def _watch(self) -> None:
        while True:
            time.sleep(self.tick_s)
            with self._lock:
                if self._watched is None or time.monotonic() < self._deadline:
                    continue
                watched, self._watched = self._watched, None
            with watched, contextlib.suppress(OSError):  # OSError: the client is already gone
                watched.shutdown(socket.SHUT_RD)


class GuardedSyncWorker(SyncWorker):
    """gunicorn's sync worker (azmlinfsrv's: its scoring timeout needs the main thread) that
    neither waits for a silent client nor blocks forever on a stalled one."""

    client_timeout_s = 10.0
    request_deadline = RequestDeadline(60.0)

    def accept(self, listener):
        client, addr = listener.accept()
        if _silent(client):  # deferred accept: it has sent nothing for the whole defer time
            with client:
                client.settimeout(1.0)
                client.sendall(IDLE_REPLY)
            return
        client.settimeout(self.client_timeout_s)
        util.close_on_exec(client)
        self.request_deadline.arm(client)
        try:
            self.handle(listener, client, addr)
        finally:
            self.request_deadline.disarm()


def _application(shared_fd: int | None, defer_accept_s: int) -> type[wsgiapp.WSGIApplication]:
    class ReleaseApplication(wsgiapp.WSGIApplication):
        def load_config(self) -> None:
            super().load_config()
            self.cfg.set("worker_class", GuardedSyncWorker)
            # The listening sockets are made here and handed to gunicorn as fd:// (it ignores
            # address binds once any fd:// is given, and would not defer accepts itself).
            host, port = self.cfg.address[0]
            own = socket.create_server((host, port), backlog=self.cfg.backlog)
            own.set_inheritable(True)
            self._own_socket = own  # open for the life of the master
            fds = [own.fileno()] if shared_fd is None else [shared_fd, own.fileno()]
            for fd in fds:
                with socket.socket(fileno=socket.dup(fd)) as sock:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, defer_accept_s)
            self.cfg.set("bind", [f"fd://{fd}" for fd in fds])

    return ReleaseApplication


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client-timeout", type=float, required=True)
    parser.add_argument("--request-deadline", type=float, required=True)
    parser.add_argument("--defer-accept", type=int, required=True)
    parser.add_argument("--shared-fd", type=int)
    parser.add_argument("azmlinfsrv_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    rest = args.azmlinfsrv_args[1:] if args.azmlinfsrv_args[:1] == ["--"] else args.azmlinfsrv_args
    sys.argv = [sys.argv[0], *rest]
    GuardedSyncWorker.client_timeout_s = args.client_timeout
    GuardedSyncWorker.request_deadline = RequestDeadline(args.request_deadline)
    amlserver.DEFAULT_HOST = "127.0.0.1"
    # amlserver_linux.run() builds gunicorn's arguments and runs gunicorn.app.wsgiapp.WSGIApplication.
    wsgiapp.WSGIApplication = _application(args.shared_fd, args.defer_accept)
    amlserver.run()


if __name__ == "__main__":
    main(sys.argv[1:])
