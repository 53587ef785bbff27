"""Start azmlinfsrv exactly as its console script does (`amlserver.run()`), with three changes:

    python release_launcher.py [--shared-fd N] -- <azmlinfsrv arguments>

- it listens on 127.0.0.1 only (azmlinfsrv binds 0.0.0.0 and has no host option);
- with `--shared-fd N` its gunicorn also accepts on the inherited listening socket N, the local
  service's scoring port, which the front door (local_door.py) holds for the life of the service
  and every release shares; `--port` stays the release's private port for health probes;
- each accepted connection gets a read/write timeout (CLIENT_TIMEOUT_S): a client that stops
  sending mid-request frees its worker within that time instead of holding it until gunicorn's
  worker timeout kills the worker (and TensorFlow has to load again).

Runs with the scoring environment's interpreter (gunicorn, azureml-inference-server-http); used
by the local backend, the tests and the benchmarks alike (deployment/inference_server.py).
"""

from __future__ import annotations

import socket
import sys

import azureml_inference_server_http.amlserver as amlserver
import gunicorn.app.wsgiapp as wsgiapp
from gunicorn import util
from gunicorn.workers.sync import SyncWorker

CLIENT_TIMEOUT_S = 10.0


class TimedSyncWorker(SyncWorker):
    """gunicorn's sync worker (azmlinfsrv's: its scoring timeout needs the main thread) whose
    client sockets time out instead of blocking forever."""

    def accept(self, listener):
        client, addr = listener.accept()
        client.settimeout(CLIENT_TIMEOUT_S)
        util.close_on_exec(client)
        self.handle(listener, client, addr)


def _application(shared_fd: int | None) -> type[wsgiapp.WSGIApplication]:
    class ReleaseApplication(wsgiapp.WSGIApplication):
        def load_config(self) -> None:
            super().load_config()
            self.cfg.set("worker_class", TimedSyncWorker)
            if shared_fd is not None:
                # gunicorn ignores address binds once any fd:// is given: bind the private
                # port here and hand gunicorn both sockets.
                host, port = self.cfg.address[0]
                private = socket.create_server((host, port), backlog=self.cfg.backlog)
                private.set_inheritable(True)
                self._private = private  # kept open for the life of the master
                self.cfg.set("bind", [f"fd://{shared_fd}", f"fd://{private.fileno()}"])

    return ReleaseApplication


def main(argv: list[str]) -> None:
    shared_fd: int | None = None
    if argv[:1] == ["--shared-fd"]:
        shared_fd, argv = int(argv[1]), argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    sys.argv = [sys.argv[0], *argv]
    amlserver.DEFAULT_HOST = "127.0.0.1"
    # amlserver_linux.run() builds gunicorn's arguments and runs gunicorn.app.wsgiapp.WSGIApplication.
    wsgiapp.WSGIApplication = _application(shared_fd)
    amlserver.run()


if __name__ == "__main__":
    main(sys.argv[1:])
