"""Input validation for the provider's `check`: each problem names the property, the bad value
and what is allowed. Values not known yet (preview) are skipped; they are checked again when
they are known."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deployment.settings import AUTH_MODES
from deployment.spec import BACKENDS
from rules import scoring, values
from rules.checks import Rule, matching, one_of, refusal

# The engine's marker for a value that is not known yet (pulumi.runtime.rpc.UNKNOWN).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

SHA256_HEX = matching(r"[0-9a-f]{64}", "a sha256 hex digest")
RELATIVE_SCRIPT = Rule(
    "a .py path relative to the source directory",
    lambda value: (
        isinstance(value, str)
        and value.endswith(".py")
        and not value.startswith("/")
        and ".." not in value.split("/")
    ),
)
ABSOLUTE_PATH = Rule("an absolute path", lambda value: isinstance(value, str) and value.startswith("/"))

# (property path, reason): one of the provider's `check` failures. Not config_reader.Problem,
# the stack config's (key, value, allowed), which names config keys, not input properties.
InputProblem = tuple[str, str]

_TOP_LEVEL: dict[str, Rule] = {
    "service_name": values.SERVICE_NAME,
    "backend": one_of(BACKENDS),
    "model_name": values.MODEL_NAME,
    "model_hash": SHA256_HEX,
    "source_hash": SHA256_HEX,
    "environment_hash": SHA256_HEX,
    "entry_script": RELATIVE_SCRIPT,
    "model_dir": ABSOLUTE_PATH,
    "source_dir": ABSOLUTE_PATH,
    "environment_file": ABSOLUTE_PATH,
}
_SETTINGS: dict[str, Rule] = {**values.SERVICE_SETTINGS, "auth": one_of(AUTH_MODES)}


def _is_unknown(value: Any) -> bool:
    return value == UNKNOWN


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _apply(rules: Mapping[str, Rule], inputs: Mapping[str, Any], prefix: str) -> list[InputProblem]:
    problems: list[InputProblem] = []
    for key, rule in rules.items():
        if key not in inputs:
            problems.append((prefix + key, "is required"))
        elif not _is_unknown(inputs[key]) and rule.refuses(inputs[key]):
            problems.append((prefix + key, refusal(inputs[key], rule.allowed)))
    return problems


def validate_inputs(news: Mapping[str, Any]) -> list[InputProblem]:
    """Every problem with the inputs, in a stable order; [] when they are valid."""
    problems = _apply(_TOP_LEVEL, news, "")
    settings = news.get("settings")
    if settings is None:
        problems.append(("settings", "is required"))
    elif not _is_unknown(settings):
        problems += _apply(_SETTINGS, settings, "settings.")
        autoscale = settings.get("autoscale") or {}
        if not _is_unknown(autoscale):
            problems += _apply(values.AUTOSCALE, autoscale, "settings.autoscale.")
            low, high = autoscale.get("min_replicas"), autoscale.get("max_replicas")
            low_n, high_n = _number(low), _number(high)
            if low_n is not None and high_n is not None and low_n > high_n:
                problems.append(
                    ("settings.autoscale", f"min_replicas {low!r} is above max_replicas {high!r}")
                )
    problems += _scoring_problems(news.get("scoring"))
    target = news.get("target")
    if target is not None and not _is_unknown(target) and not isinstance(target, Mapping):
        problems.append(("target", f"{target!r} is not allowed: a mapping of the target's fields"))
    return problems


def _scoring_problems(settings: Any) -> list[InputProblem]:
    """The entry script's settings, with the scorer's own ranges; absent is allowed (a state
    written before they were inputs: the scorer's defaults)."""
    if settings is None or _is_unknown(settings):
        return []
    if not isinstance(settings, Mapping):
        return [("scoring", refusal(settings, "a mapping of " + ", ".join(scoring.VARIABLES)))]
    problems = [
        ("scoring." + key, "unknown key; allowed here: " + ", ".join(scoring.VARIABLES))
        for key in settings
        if key not in scoring.VARIABLES
    ]
    required = {name: rule for name, rule in scoring.RULES.items() if name not in scoring.OPTIONAL}
    optional = {
        name: rule for name, rule in scoring.RULES.items() if name in scoring.OPTIONAL and name in settings
    }
    problems += _apply(required, settings, "scoring.") + _apply(optional, settings, "scoring.")
    max_batch = settings.get("max_batch")
    if max_batch is None or _is_unknown(max_batch) or scoring.RULES["max_batch"].refuses(max_batch):
        return problems  # the warm-up sizes are checked against a valid limit only
    problems += _apply({"warmup_batches": scoring.warmup_batches_rule(int(max_batch))}, settings, "scoring.")
    return problems
