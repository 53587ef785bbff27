"""The tags every Azure stack carries, and the one `expires-on` language.

`expires-on` is either a date `YYYY-MM-DD`, inclusive in UTC (the stack may live through that
whole day and is expired from 00:00 UTC of the next), or an ISO 8601 timestamp WITH an offset
(`2026-12-01T18:00:00+01:00`, or `Z`), which expires at that instant. A timestamp without an
offset is ambiguous and refused. The stack config, the policy pack and the cost guard all parse
it with `parse_expires_on`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from .checks import matching, show

NAMESPACE = "aml-gpu-inference"  # the Pulumi project, and so the namespace of its config keys
TAGS_KEY = f"{NAMESPACE}:tags"
OWNER_TAG = "owner"
EXPIRES_TAG = "expires-on"
REQUIRED_TAGS = (OWNER_TAG, EXPIRES_TAG)

TAG_NAME = matching(r"[^<>%&\\?/]{1,512}", "a tag name of 1–512 characters without < > % & \\ ? /")
TAG_VALUE_MAX_LENGTH = 256

EXPIRES_ON_ALLOWED = "a date YYYY-MM-DD (inclusive, UTC) or an ISO 8601 timestamp with an offset"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")


class ExpiryError(ValueError):
    """An `expires-on` value outside the language: `allowed` says what is allowed and what this is."""

    def __init__(self, value: object, this_is: str) -> None:
        self.value = value
        self.allowed = f"{EXPIRES_ON_ALLOWED}; this is {this_is}"
        super().__init__(f"{show(value)}: {self.allowed}")


def end_of_day_utc(day: date) -> datetime:
    """The deadline of an inclusive date: 00:00 UTC of the following day."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=UTC)


def parse_expires_on(value: object) -> datetime:
    """The first instant (aware, UTC) at which a stack tagged `expires-on: value` is expired."""
    if not isinstance(value, str):
        raise ExpiryError(value, f"a {type(value).__name__}, not text")
    text = value.strip()
    if _DATE.fullmatch(text):
        try:
            return end_of_day_utc(date.fromisoformat(text))
        except ValueError as e:
            raise ExpiryError(value, f"not a calendar date ({e})") from e
    if not _TIMESTAMP.fullmatch(text):
        raise ExpiryError(value, "neither")
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as e:
        raise ExpiryError(value, f"not a valid timestamp ({e})") from e
    if instant.utcoffset() is None:
        raise ExpiryError(value, "a timestamp with no UTC offset, so its instant is ambiguous")
    return instant.astimezone(UTC)
