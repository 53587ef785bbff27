"""When a stack expires: the cost guard's rules, pure and clock-free (the caller passes `now`).

A stack's config carries `aml-gpu-inference:tags`, an object with `owner` and `expires-on` (the
program tags every Azure resource with it). The rules:

- `expires-on` is read by `infra/rules/tags.py`, the one parser the stack config and the policy
  pack use too: a date `YYYY-MM-DD` is inclusive (expired from 00:00 UTC of the next day), a
  timestamp with an offset expires at that instant, one without an offset is malformed.
- A dev stack (`dev` or `dev-*`) without `expires-on` lives `DEFAULT_DEV_LIFETIME_DAYS` after the
  day of its last `pulumi up`, inclusive: the same date `make up` stamps into the config when the
  tag is missing (`default_dev_expiry`), so the guard and the Azure resource tags agree.
- Any other missing or malformed expiry is REPORTED: such a stack is never destroyed, and never
  treated as eternal either (the guard's exit code asks a human to look).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from infra.rules.checks import problem_line, refusal, whole
from infra.rules.tags import (
    EXPIRES_TAG,
    OWNER_TAG,
    TAGS_KEY,
    ExpiryError,
    end_of_day_utc,
    parse_expires_on,
)

DEFAULT_DEV_LIFETIME_DAYS = 7
DEV_LIFETIME_DAYS = whole(1)  # days


class Verdict(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    MISSING = "missing-expiry"
    MALFORMED = "malformed-expiry"


class TagsError(ValueError):
    """The tags config value is not an object; the message names the key and the value."""


@dataclass(frozen=True)
class StackFacts:
    """What the guard knows about one stack.

    `tags` is the raw config value of `TAGS_KEY` (the CLI hands objects over as JSON text), None
    when the key is absent. `last_up` is the end of the stack's last successful `pulumi up`; it
    is only needed (and only looked up) for dev stacks without `expires-on`.
    """

    name: str
    tags: str | Mapping[str, object] | None
    last_up: datetime | None = None


@dataclass(frozen=True)
class Assessment:
    stack: str
    verdict: Verdict
    owner: str | None
    deadline: datetime | None  # the first instant (UTC) at which the stack counts as expired
    source: str  # where the deadline came from, or why there is none
    problems: tuple[str, ...] = field(default=())

    @property
    def needs_attention(self) -> bool:
        return self.verdict in (Verdict.MISSING, Verdict.MALFORMED) or bool(self.problems)


def is_dev_stack(name: str) -> bool:
    """`dev` or `dev-<anything>`; a fully qualified name (`org/project/dev`) counts by its last part."""
    short = name.rsplit("/", 1)[-1]
    return short == "dev" or short.startswith("dev-")


def default_dev_expiry(today: date, lifetime_days: int = DEFAULT_DEV_LIFETIME_DAYS) -> date:
    """The `expires-on` date `make up` stamps on a dev stack that has none."""
    return today + timedelta(days=lifetime_days)


def parse_tags(raw: str | Mapping[str, object] | None) -> dict[str, object] | None:
    """The tags object from its config value (JSON text or an already-decoded mapping); None if absent."""
    if raw is None:
        return None
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        decoded = json.loads(raw)
    except json.JSONDecodeError as e:
        raise TagsError(f"{TAGS_KEY}: {raw!r} is not a JSON object ({e.msg}); expected an object") from e
    if not isinstance(decoded, dict):
        raise TagsError(f"{TAGS_KEY}: {raw!r} is a {type(decoded).__name__}; expected an object")
    return decoded


def assess(
    facts: StackFacts, now: datetime, *, dev_lifetime_days: int = DEFAULT_DEV_LIFETIME_DAYS
) -> Assessment:
    """Apply the module's rules to one stack at the aware instant `now`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now: {now!r} is naive; pass an aware datetime (e.g. datetime.now(UTC))")
    now = now.astimezone(UTC)
    try:
        tags = parse_tags(facts.tags)
    except TagsError as e:
        return Assessment(facts.name, Verdict.MALFORMED, None, None, str(e), (str(e),))
    tags = tags or {}

    owner, problems = _owner(tags)
    if EXPIRES_TAG not in tags:
        return _missing_expiry(facts, now, owner, problems, dev_lifetime_days)
    try:
        deadline = parse_expires_on(tags[EXPIRES_TAG])
    except ExpiryError as e:
        why = problem_line(f"{TAGS_KEY}.{EXPIRES_TAG}", e.value, e.allowed)
        return Assessment(facts.name, Verdict.MALFORMED, owner, None, why, (*problems, why))
    verdict = Verdict.EXPIRED if now >= deadline else Verdict.ACTIVE
    return Assessment(facts.name, verdict, owner, deadline, f"{EXPIRES_TAG}={tags[EXPIRES_TAG]}", problems)


def _owner(tags: Mapping[str, object]) -> tuple[str | None, tuple[str, ...]]:
    owner = tags.get(OWNER_TAG)
    if isinstance(owner, str) and owner.strip():
        return owner.strip(), ()
    if owner is None:
        return None, (f"{TAGS_KEY}.{OWNER_TAG} is missing; expected a non-empty string",)
    return None, (f"{TAGS_KEY}.{OWNER_TAG}: {owner!r} is not a non-empty string",)


def _missing_expiry(
    facts: StackFacts, now: datetime, owner: str | None, problems: tuple[str, ...], lifetime: int
) -> Assessment:
    missing = f"{TAGS_KEY}.{EXPIRES_TAG} is missing"
    if not is_dev_stack(facts.name):
        return Assessment(facts.name, Verdict.MISSING, owner, None, missing, (*problems, missing))
    if facts.last_up is None or facts.last_up.tzinfo is None:
        why = f"{missing}, and the dev default ({lifetime} days after the last up) has no up to count from"
        return Assessment(facts.name, Verdict.MISSING, owner, None, why, (*problems, why))
    last_up_day = facts.last_up.astimezone(UTC).date()
    deadline = end_of_day_utc(default_dev_expiry(last_up_day, lifetime))
    verdict = Verdict.EXPIRED if now >= deadline else Verdict.ACTIVE
    source = f"dev default: last up {last_up_day.isoformat()} + {lifetime} days"
    return Assessment(facts.name, verdict, owner, deadline, source, problems)


def main(argv: list[str] | None = None) -> int:
    """`python -m scripts.expiry --default-dev-expiry`: the date `make up` stamps on a dev stack."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--default-dev-expiry", action="store_true", help="print today (UTC) + the dev lifetime"
    )
    parser.add_argument(
        "--days", type=int, default=DEFAULT_DEV_LIFETIME_DAYS, help="the dev lifetime in days"
    )
    parser.add_argument("--stack", help="with --is-dev: exit 0 if this stack name gets the dev default")
    parser.add_argument("--is-dev", action="store_true", help="exit 0 if --stack is a dev stack, else 1")
    args = parser.parse_args(argv)
    if args.is_dev:
        if not args.stack:
            parser.error("--is-dev needs --stack NAME")
        return 0 if is_dev_stack(args.stack) else 1
    if args.default_dev_expiry:
        if DEV_LIFETIME_DAYS.refuses(args.days):
            parser.error(f"--days: {refusal(args.days, DEV_LIFETIME_DAYS.allowed)}")
        print(default_dev_expiry(datetime.now(UTC).date(), args.days).isoformat())
        return 0
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
