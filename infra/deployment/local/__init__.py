"""The local backend: the model served on this machine by azmlinfsrv, as detached processes.

`backend.py` is the `Backend`; `front_door.py` is the process that holds the scoring port (run
from a copy, with the scoring interpreter), `listening_socket.py` starts it and borrows its
socket; `release.py` starts one version of the service, `release_launcher.py` is what that
version runs; `inference_server.py` (its command line, health wait, probe) and `process.py`
(detached processes recorded with their start time) are shared with `harness/`. Stdlib only
(the scoring environment imports `inference_server` and `process`).
"""
