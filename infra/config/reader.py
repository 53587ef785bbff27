"""Reading the stack config: one funnel, `Reader.read(key, cast, rule)`, that collects problems.

Values come from the engine as strings (`"3"`, `"true"`, objects as JSON text) or, in tests, as
native values; a cast turns either into the field's type, then the shared rule (`rules/`) checks
it. A key that is not set reads as None, so the dataclass field's default applies.

    ConfigError(ValueError)      .problems: tuple[Problem, ...]
        Problem(key, value, allowed)   one line each: "<namespace>:<key> = <value>: <allowed>"
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_args

from config.types import Secret
from rules.checks import Rule, problem_line
from rules.tags import NAMESPACE

T = TypeVar("T")


class Invalid(ValueError):
    """A cast could not read a value; `allowed` says what it can read."""

    def __init__(self, allowed: str) -> None:
        super().__init__(allowed)
        self.allowed = allowed


Cast = Callable[[Any], Any]


@dataclass(frozen=True)
class Problem:
    """One invalid value: which key, what it was, what is allowed."""

    key: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        value = "[secret]" if isinstance(self.value, Secret) else self.value
        return problem_line(f"{NAMESPACE}:{self.key}", value, self.allowed)


class ConfigError(ValueError):
    """The stack config is invalid; `problems` lists every invalid value, in key order."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"invalid stack config ({count} problem{'s' if count != 1 else ''}):\n{lines}")


# --- casts: engine text or native value → the field's type ---------------------------------------


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("a non-empty string")
    return value


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise Invalid("true or false")


def number(value: Any) -> float:
    """A float from a number or its text; the rule then says which numbers are allowed."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise Invalid("a number")


def whole_number(value: Any) -> int | float:
    """An int when the number is whole; a fraction is left for the rule to refuse."""
    parsed = number(value)
    return int(parsed) if parsed.is_integer() else parsed


def choices(literal: Any) -> tuple[str, ...]:
    """The allowed values of a `Literal[...]` type, in the order written."""
    return get_args(literal)


def path_under(root: Path) -> Cast:
    """A path; a relative one is taken from `root`. normpath, not resolve(): a virtualenv's
    python is a symlink whose path is its identity."""
    return lambda value: Path(os.path.normpath(root / Path(text(value)).expanduser()))


# --- the reader ----------------------------------------------------------------------------------


class Reader:
    """Typed values out of the nested source; problems are collected, never raised one by one."""

    def __init__(self, values: Mapping[str, Any], problems: Iterable[Problem] = ()) -> None:
        self.values = values
        self.problems: list[Problem] = list(problems)

    def fail(self, key: str, value: Any, allowed: str) -> None:
        self.problems.append(Problem(key, value, allowed))

    def raw(self, key: str) -> Any:
        """The value at a dotted key; None when it is not set."""
        node: Any = self.values
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def read(self, key: str, cast: Cast, rule: Rule | None = None) -> Any:
        """The cast value of `key` if it obeys `rule`; None when unset or invalid (then a problem)."""
        value = self.raw(key)
        if value is None:
            return None
        try:
            typed = cast(value)
        except Invalid as e:
            self.fail(key, value, rule.allowed if rule else e.allowed)
            return None
        if rule is not None and rule.refuses(typed):
            self.fail(key, value, rule.allowed)
            return None
        return typed

    def section(self, prefix: str, fields: Mapping[str, tuple[str, Cast, Rule | None]]) -> dict[str, Any]:
        """`{field: value}` for the keys of a section that are set and valid (absent → default)."""
        read = {name: self.read(f"{prefix}.{key}", cast, rule) for key, (name, cast, rule) in fields.items()}
        return {name: value for name, value in read.items() if value is not None}

    def failed_since(self, since: int) -> bool:
        """Whether problems were found after `since = len(reader.problems)`."""
        return len(self.problems) > since


def nest(source: Mapping[str, Any]) -> Reader:
    """A reader over this namespace's top-level keys, with JSON object values parsed."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    for full_key, value in source.items():
        namespace, _, key = full_key.rpartition(":")
        if namespace not in ("", NAMESPACE):
            continue
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                problems.append(Problem(key, value, f"a YAML/JSON object ({e.msg})"))
                continue
        values[key] = value
    return Reader(values, problems)


def report_unknown_keys(reader: Reader, allowed_keys: Mapping[str, tuple[str, ...]]) -> None:
    """Every key not in `allowed_keys` (object path → its keys) is a typo: reported as one."""

    def walk(node: Mapping[str, Any], path: str) -> None:
        allowed = allowed_keys[path]
        for key, value in node.items():
            full = f"{path}.{key}" if path else key
            if key not in allowed:
                reader.fail(full, value, "unknown key; allowed here: " + ", ".join(allowed))
            elif full in allowed_keys:
                if isinstance(value, Mapping):
                    walk(value, full)
                else:
                    reader.fail(full, value, "an object with keys " + ", ".join(allowed_keys[full]))

    walk(reader.values, "")
