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
