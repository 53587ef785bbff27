"""The provider host's watch on the engine (deployment/engine_watch.py), in real processes: a
host whose engine address stops answering exits; one whose engine answers keeps running."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from deployment.engine_watch import engine_address

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra"
WATCHED = (
    "import sys, time\n"
    "from deployment.engine_watch import watch_engine\n"
    "assert watch_engine(['host', sys.argv[1]], interval_s=0.1)\n"
    "print('watching', flush=True)\n"
    "time.sleep(60)\n"
)


def test_the_engine_address_is_the_hosts_first_argument():
    assert engine_address(["-m", "127.0.0.1:4321"]) == ("127.0.0.1", 4321)
    assert engine_address(["-m"]) is None
    assert engine_address(["-m", "not-an-address"]) is None


def test_the_host_lives_while_the_engine_answers_and_exits_when_it_is_gone():
    engine = socket.create_server(("127.0.0.1", 0))
    port = engine.getsockname()[1]
    host = subprocess.Popen(
        [sys.executable, "-c", WATCHED, f"127.0.0.1:{port}"],
        cwd=INFRA_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert host.stdout is not None and host.stdout.readline().strip() == "watching"
        time.sleep(1.0)  # ten checks against a live engine
        assert host.poll() is None
        engine.close()
        assert host.wait(timeout=10) == 1
        assert "is gone: the provider host exits" in host.stderr.read()
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
