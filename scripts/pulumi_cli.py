"""Which `pulumi` CLI this project runs, and the environment it runs with.

The CLI must be the pinned Python SDK's version or a later 3.x (the engine is backwards
compatible with older SDKs, not the other way round). In order of preference:

1. a `pulumi` on PATH of a compatible version (its own language host comes with it);
2. the project's own: `.tools/bin/pulumi`, built from Go modules by `make pulumi-cli`
   (tools/pulumi), or `.pulumi-cli/bin/pulumi`, installed by an earlier `make demo`;
3. the official release of the SDK's version, installed into `.pulumi-cli/` where its download
   is reachable;
4. `make pulumi-cli` where `go` is on PATH.

The engine finds the language host and the dynamic-provider launcher next to the CLI binary, so
the project's own CLI needs nothing on PATH. Stdlib only: the tests, the benchmarks and
`make demo` share it.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUILT_CLI = PROJECT_ROOT / ".tools" / "bin" / "pulumi"
INSTALLED_CLI_ROOT = PROJECT_ROOT / ".pulumi-cli"
INSTALL_LINK = "https://www.pulumi.com/docs/install/"
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")

# The engine needs no plugin download for the local stack: the azure-native and kubernetes
# plugins (unreachable here) are only loaded when their resources are registered.
ENGINE_ENV = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
}


class CliNotFound(Exception):
    """No usable CLI, and none could be installed or built; the message says both ways."""


def sdk_version() -> str:
    """The pinned Python SDK's version (requirements.txt): the CLI we install or build."""
    return importlib.metadata.version("pulumi")


def parse_version(text: str) -> tuple[int, int, int] | None:
    match = _VERSION.match(text.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def is_compatible(cli_version: str, sdk: str) -> bool:
    """The same major version as the SDK, and not older than it."""
    cli, pinned = parse_version(cli_version), parse_version(sdk)
    return cli is not None and pinned is not None and cli[0] == pinned[0] and cli >= pinned


def cli_version(executable: Path | str) -> str | None:
    """What `pulumi version` prints, or None if it cannot be run."""
    try:
        result = subprocess.run(
            [str(executable), "version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


@dataclass(frozen=True)
class FoundCli:
    path: Path
    how: str  # for the log: where it came from


@dataclass
class CliFinder:
    """The discovery order of the module docstring. The steps that reach outside are callables,
    so tests can replace the download and the build."""

    sdk: str
    which: Callable[[str], str | None] = shutil.which
    version_of: Callable[[Path | str], str | None] = cli_version
    install: Callable[[Path, str], Path] | None = None  # (root, version) -> the installed CLI
    build: Callable[[], Path] | None = None  # -> the built CLI
    built_cli: Path = BUILT_CLI
    installed_root: Path = INSTALLED_CLI_ROOT

    def find(self, log: Callable[[str], None]) -> FoundCli:
        on_path = self.which("pulumi")
        if on_path:
            version = self.version_of(on_path)
            if version and is_compatible(version, self.sdk):
                return FoundCli(Path(on_path), f"on PATH ({version})")
            log(
                f"Ignoring {on_path} ({version or 'no version'}): "
                f"this project needs pulumi >= {self.sdk} of the same major version"
            )
        for local in (self.built_cli, self.installed_root / "bin" / "pulumi"):
            version = self.version_of(local) if local.exists() else None
            if version and is_compatible(version, self.sdk):
                return FoundCli(local, f"the project's own ({version})")
        failures = []
        if self.install is not None:
            log(f"Installing the Pulumi CLI {self.sdk} into {self.installed_root}")
            existed = self.installed_root.exists()
            try:
                return FoundCli(self.install(self.installed_root, self.sdk), "installed")
            except Exception as error:  # any failure of the download: fall through to the build
                if not existed:
                    shutil.rmtree(self.installed_root, ignore_errors=True)  # nothing half-installed
                failures.append(f"installing the official release failed: {error}")
        if self.build is not None and self.which("go"):
            log(f"Building the Pulumi CLI {self.sdk} from Go modules (make pulumi-cli)")
            try:
                return FoundCli(self.build(), "built from Go modules")
            except Exception as error:
                failures.append(f"building it with go failed: {error}")
        elif self.build is not None:
            failures.append("building it needs `go` on PATH, and there is none")
        raise CliNotFound(
            f"No Pulumi CLI >= {self.sdk} could be found, installed or built "
            f"({'; '.join(failures) or 'nothing tried'}). Either install it by hand ({INSTALL_LINK}) "
            f"and put `pulumi` on PATH, or install Go and run `make pulumi-cli`; then run the "
            "command again."
        )


def build_with_make(project_root: Path = PROJECT_ROOT) -> Path:
    """`make pulumi-cli`: the CLI and language host from tools/pulumi into .tools/bin."""
    subprocess.run(["make", "-C", str(project_root), "pulumi-cli"], check=True)
    return project_root / ".tools" / "bin" / "pulumi"


def engine_env(
    backend_dir: Path, passphrase: str, program_bin: Path, environ: Mapping[str, str]
) -> dict[str, str]:
    """The environment of every engine run: a file backend, the passphrase, no update check or
    plugin download, the program's virtualenv first on PATH (as Pulumi.yaml names it)."""
    path = environ.get("PATH", "")
    return {
        **ENGINE_ENV,
        "PULUMI_BACKEND_URL": f"file://{backend_dir}",
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PATH": f"{program_bin}:{path}" if path else str(program_bin),
    }
