"""Reading the exact pins of a requirements file (stdlib only: both test runs use it)."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;#]+)")


def exact_pins(requirements: Path) -> dict[str, str]:
    """{distribution name: version} for every `name==version` line; `-r` includes followed."""
    pins: dict[str, str] = {}
    for raw in requirements.read_text().splitlines():
        line = raw.strip()
        if line.startswith("-r "):
            pins.update(exact_pins(requirements.parent / line[3:].strip()))
            continue
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        if match is None:
            raise AssertionError(f"{requirements.name}: {line!r} is not an exact pin (name==version)")
        pins[match.group(1).lower()] = match.group(3)
    return pins


def mismatched_pins(requirements: Path) -> dict[str, tuple[str, str | None]]:
    """Pins whose installed version differs: {name: (pinned, installed or None)}."""
    wrong: dict[str, tuple[str, str | None]] = {}
    for name, pinned in exact_pins(requirements).items():
        try:
            installed: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pinned:
            wrong[name] = (pinned, installed)
    return wrong


def requirement_lines(requirements: Path) -> list[str]:
    """The requirement lines of a requirements file as written (extras kept), `-r` not followed."""
    lines = (raw.split("#", 1)[0].strip() for raw in requirements.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def conda_pip_lines(environment_yml: Path) -> list[str]:
    """The `- pip:` list of a conda environment file, one requirement per entry as written.

    Read by indentation (stdlib only: no YAML parser in either environment): the entries after a
    `- pip:` line that are indented deeper than it."""
    lines = environment_yml.read_text().splitlines()
    entries: list[str] = []
    pip_indent: int | None = None
    for raw in lines:
        text = raw.split("#", 1)[0].rstrip()
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip())
        if text.strip() == "- pip:":
            pip_indent = indent
            continue
        if pip_indent is not None:
            if indent <= pip_indent:
                pip_indent = None
            elif text.strip().startswith("- "):
                entries.append(text.strip()[2:].strip())
    return entries
