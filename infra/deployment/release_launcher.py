"""Start azmlinfsrv exactly as its console script does (`amlserver.run()`), with three changes:

    python release_launcher.py --client-timeout S --defer-accept S [--shared-fd N] -- <azmlinfsrv arguments>

- it listens on 127.0.0.1 only (azmlinfsrv binds 0.0.0.0 and has no host option);
- with `--shared-fd N` its gunicorn also accepts on the inherited listening socket N, the local
  service's scoring port, which the front door (local_door.py) holds for the life of the service
  and every release shares; `--port` stays the release's own port (health probes, benchmarks);
- a client cannot hold a worker: the kernel hands a connection over only once it has sent
  something (TCP_DEFER_ACCEPT), one that stayed silent all that time gets a 408 at once, and a
  client that stops sending mid-request times out after `--client-timeout`, instead of blocking
  the worker until gunicorn's worker timeout kills it (and TensorFlow has to load again).

Runs with the scoring environment's interpreter (gunicorn, azureml-inference-server-http); used
by the local backend, the tests and the benchmarks alike; the values come from
deployment/inference_server.py, which builds this command line.
"""

from __future__ import annotations

import argparse
import select
import socket
import sys

import azureml_inference_server_http.amlserver as amlserver
import gunicorn.app.wsgiapp as wsgiapp
from gunicorn import util
from gunicorn.workers.sync import SyncWorker

IDLE_REPLY = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def _silent(client: socket.socket) -> bool:
    readable, _, _ = select.select([client], [], [], 0)
    return not readable


class GuardedSyncWorker(SyncWorker):
    """gunicorn's sync worker (azmlinfsrv's: its scoring timeout needs the main thread) that
    neither waits for a silent client nor blocks forever on a stalled one."""

    client_timeout_s = 10.0

    def accept(self, listener):
        client, addr = listener.accept()
        if _silent(client):  # deferred accept: it has sent nothing for the whole defer time
            with client:
                client.settimeout(1.0)
                client.sendall(IDLE_REPLY)
            return
        client.settimeout(self.client_timeout_s)
        util.close_on_exec(client)
        self.handle(listener, client, addr)


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
    parser.add_argument("--defer-accept", type=int, required=True)
    parser.add_argument("--shared-fd", type=int)
    parser.add_argument("azmlinfsrv_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    rest = args.azmlinfsrv_args[1:] if args.azmlinfsrv_args[:1] == ["--"] else args.azmlinfsrv_args
    sys.argv = [sys.argv[0], *rest]
    GuardedSyncWorker.client_timeout_s = args.client_timeout
    amlserver.DEFAULT_HOST = "127.0.0.1"
    # amlserver_linux.run() builds gunicorn's arguments and runs gunicorn.app.wsgiapp.WSGIApplication.
    wsgiapp.WSGIApplication = _application(args.shared_fd, args.defer_accept)
    amlserver.run()


if __name__ == "__main__":
    main(sys.argv[1:])
