"""Input validation for the provider's `check`: each problem names the property, the bad value
and what is allowed. Values not known yet (preview) are skipped; they are checked again when
they are known."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from deployment.settings import AUTH_MODES
from deployment.spec import BACKENDS

# The engine's marker for a value that is not known yet (pulumi.runtime.rpc.UNKNOWN).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# Azure ML's rule for service names, applied to every backend so a stack can move targets.
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")

Problem = tuple[str, str]  # (property path, reason)


def _is_unknown(value: Any) -> bool:
    return value == UNKNOWN


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _whole(value: Any, minimum: int) -> str | None:
    number = _number(value)
    if number is None or not number.is_integer() or number < minimum:
        return f"{value!r} is not allowed: a whole number >= {minimum}"
    return None


def _positive(value: Any) -> str | None:
    number = _number(value)
    if number is None or number <= 0:
        return f"{value!r} is not allowed: a number > 0"
    return None


def _pattern(pattern: re.Pattern[str], allowed: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not pattern.match(value):
            return f"{value!r} is not allowed: {allowed}"
        return None

    return check


def _one_of(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value in options else f"{value!r} is not allowed: one of {', '.join(options)}"

    return check


def _relative_script(value: Any) -> str | None:
    if (
        not isinstance(value, str)
        or not value.endswith(".py")
        or value.startswith("/")
        or ".." in value.split("/")
    ):
        return f"{value!r} is not allowed: a .py path relative to the source directory"
    return None


def _absolute_path(value: Any) -> str | None:
    if not isinstance(value, str) or not value.startswith("/"):
        return f"{value!r} is not allowed: an absolute path"
    return None


_TOP_LEVEL: dict[str, Callable[[Any], str | None]] = {
    "service_name": _pattern(
        SERVICE_NAME, "3-32 characters: lowercase letters, digits and '-', starting with a letter"
    ),
    "backend": _one_of(BACKENDS),
    "model_name": _pattern(MODEL_NAME, "letters, digits, '_', '.', '-' (at most 255)"),
    "model_hash": _pattern(SHA256_HEX, "a sha256 hex digest"),
    "source_hash": _pattern(SHA256_HEX, "a sha256 hex digest"),
    "environment_hash": _pattern(SHA256_HEX, "a sha256 hex digest"),
    "entry_script": _relative_script,
    "model_dir": _absolute_path,
    "source_dir": _absolute_path,
    "environment_file": _absolute_path,
}

_SETTINGS: dict[str, Callable[[Any], str | None]] = {
    "replicas": lambda v: _whole(v, 1),
    "cpu_cores": _positive,
    "memory_gb": _positive,
    "gpu_cores": lambda v: _whole(v, 0),
    "auth": _one_of(AUTH_MODES),
    "scoring_timeout_ms": lambda v: _whole(v, 1),
    "max_concurrent_requests_per_replica": lambda v: _whole(v, 1),
}

_AUTOSCALE: dict[str, Callable[[Any], str | None]] = {
    "min_replicas": lambda v: _whole(v, 1),
    "max_replicas": lambda v: _whole(v, 1),
    "target_utilization": lambda v: _whole(v, 1),
}


def _apply(
    rules: Mapping[str, Callable[[Any], str | None]], values: Mapping[str, Any], prefix: str
) -> list[Problem]:
    problems: list[Problem] = []
    for key, rule in rules.items():
        if key not in values:
            problems.append((prefix + key, "is required"))
        elif not _is_unknown(values[key]) and (reason := rule(values[key])):
            problems.append((prefix + key, reason))
    return problems


def validate_inputs(news: Mapping[str, Any]) -> list[Problem]:
    """Every problem with the inputs, in a stable order; [] when they are valid."""
    problems = _apply(_TOP_LEVEL, news, "")
    settings = news.get("settings")
    if settings is None:
        problems.append(("settings", "is required"))
    elif not _is_unknown(settings):
        problems += _apply(_SETTINGS, settings, "settings.")
        autoscale = settings.get("autoscale") or {}
        if not _is_unknown(autoscale):
            problems += _apply(_AUTOSCALE, autoscale, "settings.autoscale.")
            low, high = autoscale.get("min_replicas"), autoscale.get("max_replicas")
            if _number(low) is not None and _number(high) is not None and low > high:
                problems.append(
                    ("settings.autoscale", f"min_replicas {low!r} is above max_replicas {high!r}")
                )
    target = news.get("target")
    if target is not None and not _is_unknown(target) and not isinstance(target, Mapping):
        problems.append(("target", f"{target!r} is not allowed: a mapping of the target's fields"))
    return problems
