"""The real Pulumi dynamic provider host, driven over gRPC the way the engine drives it.

    with ProviderHost.start() as host:                  # python -m pulumi.dynamic, cwd infra/
        host.configure()
        checked = host.check(news)                       # CheckResult: inputs, failures
        id_, outs = host.create(checked.inputs)
        host.diff(id_, outs, news).changes               # "none" | "some" | "unknown"
        id_, outs = host.read(id_, outs)                 # id_ == "" when the resource is gone
        outs = host.update(id_, outs, news)
        host.delete(id_, outs)

The host is started exactly as the engine starts it for a program with `main: infra/`: the
program's interpreter, `-m pulumi.dynamic`, working directory `infra/`, and no PYTHONPATH, so
the pickled provider must be importable from there alone. Property bags go in and come out as
plain dicts (protobuf Structs on the wire: every number comes back as a float). Inputs taken
from a program evaluated under mocks carry secret envelopes; `unwrap_secrets` removes them.
An operation that fails raises `ProviderError` with the provider's message.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import grpc
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from harness.program import MODEL_DEPLOYMENT_TYPE

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INFRA_DIR = PROJECT_ROOT / "infra"
PROGRAM_PYTHON = PROJECT_ROOT / ".venv" / "bin" / "python"
SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"  # pulumi.runtime.rpc's secret envelope
SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"
START_TIMEOUT_S = 60.0
CALL_TIMEOUT_S = 600.0

_CHANGES = {
    provider_pb2.DiffResponse.DIFF_UNKNOWN: "unknown",
    provider_pb2.DiffResponse.DIFF_NONE: "none",
    provider_pb2.DiffResponse.DIFF_SOME: "some",
}


class ProviderError(Exception):
    """An operation failed in the provider; `details` is the provider's message."""

    def __init__(self, operation: str, error: grpc.RpcError) -> None:
        self.operation = operation
        self.code = error.code()  # type: ignore[attr-defined]
        self.details = error.details() or ""  # type: ignore[attr-defined]
        super().__init__(f"{operation} failed ({self.code.name}): {self.details}")


@dataclass(frozen=True)
class CheckResult:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]  # (property, reason)


@dataclass(frozen=True)
class DiffResult:
    changes: str  # "none" | "some" | "unknown"
    replaces: list[str]
    delete_before_replace: bool


def unwrap_secrets(value: Any) -> Any:
    """The plain value inside every secret envelope (recursively)."""
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return unwrap_secrets(value.get("value"))
        return {key: unwrap_secrets(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [unwrap_secrets(item) for item in value]
    return value


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(unwrap_secrets(props)))
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(struct)


class ProviderHost:
    """One running `python -m pulumi.dynamic`. Use `start()`; `close()` stops it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, stderr: IO[bytes]) -> None:
        self.process = process
        self.port = port
        self._stderr = stderr
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.stub = provider_pb2_grpc.ResourceProviderStub(self._channel)

    @classmethod
    def start(
        cls,
        *,
        python: Path = PROGRAM_PYTHON,
        cwd: Path = INFRA_DIR,
        extra_env: Mapping[str, str] | None = None,
        program: tuple[str, ...] = ("-m", "pulumi.dynamic"),
    ) -> ProviderHost:
        """Start the host as the engine would; `extra_env` adds variables (e.g. a backend's
        health timeout), PYTHONPATH is always removed. `program` replaces `-m pulumi.dynamic`
        only for a test launcher that wraps the host (tests/fakes/fake_sdk_provider_host.py)."""
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(extra_env or {})
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        process = subprocess.Popen(
            [str(python), *program],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        assert process.stdout is not None
        first_line = process.stdout.readline().decode().strip()
        if not first_line.isdigit():
            process.kill()
            process.wait()
            stderr.seek(0)
            raise RuntimeError(f"the provider host did not print its port: {stderr.read().decode()[-2000:]}")
        host = cls(process, int(first_line), stderr)
        grpc.channel_ready_future(host._channel).result(timeout=START_TIMEOUT_S)
        return host

    def __enter__(self) -> ProviderHost:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()

    def stderr_text(self) -> str:
        """Everything the host wrote to stderr so far (progress goes there without an engine)."""
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace")
        self._stderr.seek(0, os.SEEK_END)
        return text

    @staticmethod
    def urn(name: str = "model", stack: str = "local") -> str:
        return f"urn:pulumi:{stack}::aml-gpu-inference::{MODEL_DEPLOYMENT_TYPE}::{name}"

    def _call(self, operation: str, request: Any) -> Any:
        try:
            return getattr(self.stub, operation)(request, timeout=CALL_TIMEOUT_S)
        except grpc.RpcError as error:
            raise ProviderError(operation, error) from error

    # -- the engine's calls ---------------------------------------------------------------------

    def configure(self, config: Mapping[str, Any] | None = None) -> None:
        self._call("Configure", provider_pb2.ConfigureRequest(args=to_struct(config or {})))

    def check(self, news: Mapping[str, Any], olds: Mapping[str, Any] | None = None) -> CheckResult:
        response = self._call(
            "Check",
            provider_pb2.CheckRequest(urn=self.urn(), olds=to_struct(olds or {}), news=to_struct(news)),
        )
        return CheckResult(
            inputs=from_struct(response.inputs),
            failures=[(failure.property, failure.reason) for failure in response.failures],
        )

    def diff(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
        response = self._call(
            "Diff",
            provider_pb2.DiffRequest(id=id_, urn=self.urn(), olds=to_struct(olds), news=to_struct(news)),
        )
        return DiffResult(
            changes=_CHANGES[response.changes],
            replaces=list(response.replaces),
            delete_before_replace=response.deleteBeforeReplace,
        )

    def create(self, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self._call(
            "Create", provider_pb2.CreateRequest(urn=self.urn(), properties=to_struct(props))
        )
        return response.id, from_struct(response.properties)

    def read(self, id_: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        response = self._call(
            "Read", provider_pb2.ReadRequest(id=id_, urn=self.urn(), properties=to_struct(props))
        )
        return response.id, from_struct(response.properties)

    def update(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        response = self._call(
            "Update",
            provider_pb2.UpdateRequest(id=id_, urn=self.urn(), olds=to_struct(olds), news=to_struct(news)),
        )
        return from_struct(response.properties)

    def delete(self, id_: str, props: Mapping[str, Any]) -> None:
        self._call("Delete", provider_pb2.DeleteRequest(id=id_, urn=self.urn(), properties=to_struct(props)))


def local_stack_inputs(config: Mapping[str, Any], stack: str = "local") -> dict[str, Any]:
    """The ModelDeployment inputs (with `__provider`) of `infra/__main__.py` evaluated under
    mocks for `stack` with `config` added to `Pulumi.<stack>.yaml`'s, secrets unwrapped."""
    from harness.program import run_program, stack_config

    merged = {**stack_config(stack), **config}
    run = run_program(merged, stack=stack)
    return unwrap_secrets(run.one(MODEL_DEPLOYMENT_TYPE).inputs)


def processes_referencing(path: Path) -> list[int]:
    """Pids of processes whose working directory or command line is inside `path`: what a
    deployment under that directory could have left running."""
    needle = str(path.resolve())
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (cwd.startswith(needle) or needle in cmdline):
            found.append(int(entry.name))
    return found


def kill_everything_under(directory: Path, timeout_s: float = 10.0) -> None:
    """SIGKILL whatever `processes_referencing(directory)` finds, and wait until it has died."""
    for pid in processes_referencing(directory):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    while processes_referencing(directory) and time.monotonic() < deadline:
        time.sleep(0.05)
