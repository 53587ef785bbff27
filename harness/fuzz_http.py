"""Benchmark-size HTTP fuzz of the entry script in a real azmlinfsrv: prints figures, asserts nothing.

    .venv-scoring/bin/python -m harness.fuzz_http --model-dir artifacts/model [--cases 10000] [--workers 2]
        [--path scoring_uri|direct]

`--path scoring_uri` (the default): the local target's service, deployed by the real LocalBackend
(what `pulumi up` runs on the local stack) with the fuzz's limits set as the stack's `scoring`
settings, fuzzed through its scoring URI (the front door's port). `--path direct`: a bare
azmlinfsrv started with those limits in its environment, fuzzed on its own port (and
`--entry-script` may name a candidate fix's copy).

Sends `--cases` requests drawn by hypothesis from the same generators the tests use
(harness/fuzz_cases.py `cases()`: random and near-valid bodies, content types, methods,
oversized and chunked bodies; harness/fuzz_wire.py `abuse_cases()`: broken HTTP framing) and prints:

    cases, replies by status, 5xx count, 4xx count, contract mismatches (wrong status, or a
    rejection whose message does not name the problem), worker crashes/restarts (the gunicorn
    master's worker pids before and after, and gunicorn's worker events in the log),
    one sample message per kind of rejection,
    and the body size limit enforced before parsing: the time to a 413 for a declared 64 GiB body
    of which only the headers are sent, and for a 256 MiB chunked upload: how much of it the
    client got to send, and the workers' RSS before and after.

Also sends the transfer codings gunicorn does not implement (e.g. `br`), which gunicorn itself
answers 501 before any application code runs; they are counted on their own line.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from deployment.local.handle import LocalHandle
from deployment.settings import ScoringSettings
from harness.fuzz_cases import FLOAT32_CT, JSON_CT, MAX_BATCH, MAX_BODY, Case, cases, check_reply
from harness.fuzz_wire import (
    AbuseCase,
    WorkerWatch,
    abuse_cases,
    check_abuse_reply,
    children,
    request_bytes,
    send,
)
from harness.local_service import local_service
from harness.procfs import rss_kib
from harness.server import InferenceServer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENTRY_SCRIPT = PROJECT_ROOT / "model_service" / "score.py"
SCORING_PYTHON = Path(sys.executable).with_name("python")  # the scoring environment's
PATHS = ("scoring_uri", "direct")
FUZZ_SCORING = ScoringSettings(max_batch=MAX_BATCH, max_body_bytes=MAX_BODY, warmup_batches=(1,))


@dataclass(frozen=True)
class Target:
    """Where the cases go (`port`), and the server whose workers and log are watched."""

    port: int
    server_port: int  # the gunicorn master's --port: the release's own on the scoring_uri path
    log_path: Path


@contextmanager
def fuzz_target(path: str, args: argparse.Namespace, work_dir: Path) -> Iterator[Target]:
    if path == "scoring_uri":
        with local_service(
            args.model_dir, work_dir / "state", name="fuzz", workers=args.workers, scoring=FUZZ_SCORING
        ) as live:
            release = LocalHandle.from_dict(live.handle).release
            port = urlsplit(live.scoring_uri).port
            assert port is not None
            yield Target(port, release.port, release.log_path)
        return
    with InferenceServer(
        args.entry_script,
        args.model_dir,
        workers=args.workers,
        env=FUZZ_SCORING.environment(),
        python=SCORING_PYTHON,
        log_path=work_dir / "azmlinfsrv.log",
        cwd=PROJECT_ROOT,
    ) as server:
        yield Target(server.port, server.port, server.log_path)


@dataclass
class Tally:
    sent: int = 0
    by_status: collections.Counter[int] = field(default_factory=collections.Counter)
    mismatches: list[str] = field(default_factory=list)
    mismatches_by_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    status_5xx_by_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    transport_errors: list[str] = field(default_factory=list)
    sample_message: dict[str, str] = field(default_factory=dict)  # kind -> one rejection message

    def record(self, kind: str, status: int, body: bytes, problem: str | None) -> None:
        self.sent += 1
        self.by_status[status] += 1
        if problem is not None:
            self.mismatches.append(f"{kind}: {problem[:300]}")
            self.mismatches_by_kind[kind] += 1
        if status >= 500:
            self.status_5xx_by_kind[kind] += 1
        if 400 <= status < 600 and kind not in self.sample_message:
            try:
                self.sample_message[kind] = json.loads(body)["message"]
            except (ValueError, KeyError, TypeError):
                # gunicorn's own error page: its text without the markup
                text = re.sub(r"<[^>]+>", " ", body.decode("utf-8", errors="replace")).replace("&#x27;", "'")
                self.sample_message[kind] = " ".join(text.split())

    @property
    def count_5xx(self) -> int:
        return sum(n for status, n in self.by_status.items() if status >= 500)

    @property
    def count_4xx(self) -> int:
        return sum(n for status, n in self.by_status.items() if 400 <= status < 500)


def _kind_family(kind: str) -> str:
    """A kind without its drawn details (sizes, values), so samples group by the kind of problem."""
    for cut in (" '", " (", " chunked", " 1", " 2", " 3", " 4", " 5", " 6", " 7", " 8", " 9"):
        kind = kind.split(cut)[0]
    return kind


def run_cases(port: int, count: int, tally: Tally) -> None:
    strategy = st.one_of(cases(), cases(), cases(), abuse_cases(port))

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def one(case: Case | AbuseCase) -> None:
        try:
            if isinstance(case, AbuseCase):
                reply = send(port, case.data, half_close=case.half_close)
                check = lambda: check_abuse_reply(case, reply)  # noqa: E731
            else:
                reply = send(port, request_bytes(case, port), method=case.method)
                check = lambda: check_reply(case, reply.status, reply.content_type, reply.body)  # noqa: E731
        except OSError as error:
            tally.transport_errors.append(f"{case.kind}: {error!r}")
            return
        try:
            check()
            problem = None
        except AssertionError as error:
            problem = str(error)
        tally.record(_kind_family(case.kind), reply.status, reply.body, problem)
        if tally.sent % 1000 == 0:
            print(
                f"  {tally.sent} cases, {tally.count_5xx} 5xx, {len(tally.mismatches)} mismatches", flush=True
            )

    one()


def declared_huge_body(port: int) -> tuple[int, float]:
    """Only the headers of a 64 GiB upload: (status, ms until the reply)."""
    head = (
        f"POST /score HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {JSON_CT}\r\n"
        f"Content-Length: {64 * 1024**3}\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    reply = send(port, head + b'{"data": [[')
    return reply.status, (time.perf_counter() - started) * 1000


def chunked_huge_upload(port: int, total: int) -> tuple[int | None, int, float]:
    """Stream `total` bytes chunked (64 KiB chunks) until the server answers or closes:
    (status or None, bytes the client got to send, ms)."""
    chunk = b"\x00" * 65536
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    head = (
        f"POST /score HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {FLOAT32_CT}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    sent = 0
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head)
        try:
            while sent < total:
                sock.sendall(frame)
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status = None
        try:
            first = sock.recv(65536)
            status = int(first.split(b" ", 2)[1]) if first.startswith(b"HTTP/") else None
        except OSError:
            pass
    return status, sent, (time.perf_counter() - started) * 1000


def unimplemented_transfer_codings(port: int) -> dict[str, int]:
    statuses = {}
    for coding in ("br", "x-custom"):
        data = (
            f"POST /score HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: {coding}\r\n"
            "Content-Length: 784\r\n\r\n"
        ).encode() + bytes(784)
        statuses[coding] = send(port, data, half_close=True).status
    return statuses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, default=PROJECT_ROOT / "artifacts" / "model")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--upload-mib", type=int, default=256)
    parser.add_argument(
        "--entry-script",
        type=Path,
        default=ENTRY_SCRIPT,
        help="--path direct only: e.g. a candidate fix's copy",
    )
    parser.add_argument("--path", choices=PATHS, default=PATHS[0], help="where the cases are sent")
    args = parser.parse_args(argv)
    if not (args.model_dir / "saved_model.pb").exists():
        parser.error(f"--model-dir: {str(args.model_dir)!r} holds no saved_model.pb (run `make model`)")
    if args.path != "direct" and args.entry_script != ENTRY_SCRIPT:
        parser.error("--entry-script: only with --path direct (the local target deploys model_service/)")

    with (
        tempfile.TemporaryDirectory(prefix="fuzz-http-") as work_dir,
        fuzz_target(args.path, args, Path(work_dir)) as server,
    ):
        watch = WorkerWatch(server.server_port, server.log_path)
        print(
            f"azmlinfsrv with {args.entry_script} via {args.path} on port {server.port}: "
            f"master {watch.master}, workers {sorted(watch.workers)}; "
            + " ".join(f"{name}={value}" for name, value in FUZZ_SCORING.environment().items()),
            flush=True,
        )

        rss_before = rss_kib(watch.workers)
        status_declared, ms_declared = declared_huge_body(server.port)
        status_chunked, sent_chunked, ms_chunked = chunked_huge_upload(server.port, args.upload_mib * 2**20)
        rss_after = rss_kib(children(watch.master))

        tally = Tally()
        started = time.perf_counter()
        run_cases(server.port, args.cases, tally)
        elapsed = time.perf_counter() - started
        codings = unimplemented_transfer_codings(server.port)
        changes = watch.changes()
        errors_logged = watch.server_errors()

    print(f"\n== HTTP fuzz against azmlinfsrv ({args.path}) ==")
    print(f"cases sent:            {tally.sent} in {elapsed:.0f} s ({tally.sent / elapsed:.0f}/s)")
    print(f"replies by status:     {dict(sorted(tally.by_status.items()))}")
    print(f"5xx replies:           {tally.count_5xx} by kind: {dict(tally.status_5xx_by_kind)}")
    print(f"4xx replies:           {tally.count_4xx}")
    print(f"transport errors:      {len(tally.transport_errors)} {tally.transport_errors[:3]}")
    mismatches = len(tally.mismatches)
    print(f"contract mismatches:   {mismatches} (wrong status, or a rejection not naming the problem)")
    print(f"    by kind: {dict(tally.mismatches_by_kind)}")
    for line in tally.mismatches[:8]:
        print(f"    {line}")
    print(f"worker crashes/restarts: {changes or 'none'}")
    print(f"5xx / tracebacks in the server log: {len(errors_logged)}")
    for line in errors_logged[:5]:
        print(f"    {line[:200]}")
    print("one rejection message per kind of case:")
    for kind, message in sorted(tally.sample_message.items()):
        print(f"    {kind:34s} {message[:110]}")
    print("\n== body size limit, enforced before parsing ==")
    print(f"declared 64 GiB, headers only: {status_declared} after {ms_declared:.1f} ms (body never sent)")
    print(
        f"{args.upload_mib} MiB chunked upload: {status_chunked} after {ms_chunked:.0f} ms; the client sent "
        f"{sent_chunked / 2**20:.2f} MiB before the server answered and closed"
    )
    print(f"worker RSS before/after:        {rss_before / 1024:.1f} / {rss_after / 1024:.1f} MiB")
    print(f"\ntransfer codings gunicorn does not implement (answered by gunicorn, before the app): {codings}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
