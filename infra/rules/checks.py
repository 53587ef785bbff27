"""A rule on a typed value, and the one style in which refused values are written.

Casting is the caller's job (the stack config casts engine strings first, the provider's `check`
gets typed values from the engine); a rule only says whether a typed value is allowed and, in
words, what is. The words use `≥`, `≤` and `–` for ranges, in every layer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    """What a value must be: `accepts(value)`, and `allowed`, the words a refusal ends with."""

    allowed: str
    accepts: Callable[[Any], bool]

    def refuses(self, value: Any) -> bool:
        return not self.accepts(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole(minimum: int, maximum: int | None = None) -> Rule:
    """A whole number in [minimum, maximum]; an integral float passes (the engine sends floats)."""
    allowed = f"a whole number ≥ {minimum}" + (f" and ≤ {maximum}" if maximum is not None else "")

    def accepts(value: Any) -> bool:
        if not _is_number(value) or not float(value).is_integer() or value < minimum:
            return False
        return maximum is None or value <= maximum

    return Rule(allowed, accepts)


def positive() -> Rule:
    return Rule("a number > 0", lambda value: _is_number(value) and value > 0)


def matching(pattern: str, allowed: str) -> Rule:
    """A string that matches `pattern` as a whole."""
    compiled = re.compile(pattern)
    return Rule(allowed, lambda value: isinstance(value, str) and compiled.fullmatch(value) is not None)


def one_of(options: Iterable[str]) -> Rule:
    choices = tuple(options)
    return Rule("one of " + ", ".join(choices), lambda value: value in choices)


def show(value: Any) -> str:
    """A refused value as messages show it: strings quoted, objects as JSON, numbers plain."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (dict, list, bool)) or value is None:
        return json.dumps(value, default=str)
    return str(value)


def problem_line(where: str, value: Any, allowed: str) -> str:
    """A refused value where the message names its key: `<key> = <value>: <allowed>`."""
    return f"{where} = {show(value)}: {allowed}"


def refusal(value: Any, allowed: str) -> str:
    """The reason a value is refused where the property is named separately (the provider's check)."""
    return f"{show(value)} is not allowed: {allowed}"
