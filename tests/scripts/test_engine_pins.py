"""The engine we build and the SDK we pin are the same release: tools/pulumi/go.mod against
requirements.txt, and against the SDK installed in the program's virtualenv."""

from __future__ import annotations

import re
from pathlib import Path

from scripts.pulumi_cli import sdk_version

ROOT = Path(__file__).resolve().parents[2]


def _go_requirement(module: str) -> str:
    go_mod = (ROOT / "tools" / "pulumi" / "go.mod").read_text()
    match = re.search(rf"^\s*{re.escape(module)} (v\S+)", go_mod, re.MULTILINE)
    assert match, f"tools/pulumi/go.mod does not require {module}"
    return match[1]


def _pinned_sdk() -> str:
    match = re.search(r"^pulumi==(\S+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert match, "requirements.txt does not pin pulumi"
    return match[1]


def test_the_cli_and_its_sdk_module_are_the_pinned_python_sdks_version():
    pinned = _pinned_sdk()
    assert _go_requirement("github.com/pulumi/pulumi/pkg/v3") == f"v{pinned}"
    assert _go_requirement("github.com/pulumi/pulumi/sdk/v3") == f"v{pinned}"
    assert sdk_version() == pinned  # what the finder asks for is what is installed


def test_go_mod_has_no_path_replace():
    go_mod = (ROOT / "tools" / "pulumi" / "go.mod").read_text()
    replaces = [line for line in go_mod.splitlines() if line.strip().startswith("replace")]
    assert replaces and all("=> ../" not in line and "=> ./" not in line for line in replaces)
