"""The cost guard's expiry rules: dates (inclusive, UTC), time zones, dev default, missing, malformed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.rules.checks import show
from infra.rules.tags import ExpiryError, parse_expires_on
from scripts.expiry import (
    DEFAULT_DEV_LIFETIME_DAYS,
    StackFacts,
    Verdict,
    assess,
    default_dev_expiry,
    is_dev_stack,
    main,
)

CET = timezone(timedelta(hours=1))
PST = timezone(timedelta(hours=-8))


def tags(**values: object) -> str:
    """The tags object as the CLI hands it over: JSON text (keys with dashes via **{...})."""
    return json.dumps(values)


def facts(name: str = "prod", raw: object = None, last_up: datetime | None = None) -> StackFacts:
    return StackFacts(name=name, tags=raw, last_up=last_up)  # type: ignore[arg-type]


# --- dates: inclusive through the end of the UTC day -------------------------------------------


def test_a_date_is_alive_through_its_last_utc_second():
    stack = facts(raw=tags(owner="ana", **{"expires-on": "2026-11-27"}))
    assert assess(stack, datetime(2026, 11, 27, 23, 59, 59, 999999, tzinfo=UTC)).verdict is Verdict.ACTIVE
    assert assess(stack, datetime(2026, 11, 28, 0, 0, tzinfo=UTC)).verdict is Verdict.EXPIRED


def test_the_deadline_of_a_date_is_midnight_utc_after_it():
    deadline = assess(facts(raw=tags(owner="a", **{"expires-on": "2026-02-28"})), datetime.now(UTC)).deadline
    assert deadline == datetime(2026, 3, 1, tzinfo=UTC)


def test_a_date_is_judged_in_utc_whatever_the_zone_of_now():
    stack = facts(raw=tags(owner="ana", **{"expires-on": "2026-11-27"}))
    # 00:30 on the 28th in Paris is still the 27th in UTC: alive.
    assert assess(stack, datetime(2026, 11, 28, 0, 30, tzinfo=CET)).verdict is Verdict.ACTIVE
    # 16:30 on the 27th in California is already the 28th in UTC: expired.
    assert assess(stack, datetime(2026, 11, 27, 16, 30, tzinfo=PST)).verdict is Verdict.EXPIRED


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="naive"):
        assess(facts(raw=tags(owner="a", **{"expires-on": "2026-11-27"})), datetime(2026, 11, 27))


# --- timestamps with an explicit offset ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-11-27T18:00:00+01:00", datetime(2026, 11, 27, 17, 0, tzinfo=UTC)),
        ("2026-11-27T18:00:00Z", datetime(2026, 11, 27, 18, 0, tzinfo=UTC)),
        ("2026-11-27T18:00-08:00", datetime(2026, 11, 28, 2, 0, tzinfo=UTC)),
        ("2026-11-27 18:00:00.5+00:00", datetime(2026, 11, 27, 18, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_a_timestamp_with_an_offset_expires_at_that_instant(text, instant):
    assert parse_expires_on(text) == instant
    stack = facts(raw=tags(owner="ana", **{"expires-on": text}))
    assert assess(stack, instant - timedelta(microseconds=1)).verdict is Verdict.ACTIVE
    assert assess(stack, instant).verdict is Verdict.EXPIRED


def test_a_timestamp_without_an_offset_is_malformed_not_guessed():
    with pytest.raises(ExpiryError, match="no UTC offset"):
        parse_expires_on("2026-11-27T18:00:00")


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2999, 12, 30)))
def test_every_date_expires_exactly_at_the_next_utc_midnight(day):
    deadline = parse_expires_on(day.isoformat())
    assert deadline.tzinfo is UTC or deadline.utcoffset() == timedelta(0)
    assert (deadline - timedelta(microseconds=1)).date() == day
    assert deadline.date() == day + timedelta(days=1)


# --- malformed values are reported with key, value and what is allowed --------------------------


@pytest.mark.parametrize(
    "value",
    ["2026-02-30", "27.11.2026", "next friday", "", "2026-11-27T25:00:00Z", "20261127", 20261127, None, True],
)
def test_malformed_expires_on_is_reported_and_never_destroys(value):
    stack = facts(raw=json.dumps({"owner": "ana", "expires-on": value}))
    result = assess(stack, datetime(2100, 1, 1, tzinfo=UTC))
    assert result.verdict is Verdict.MALFORMED
    assert result.deadline is None
    assert result.needs_attention
    message = result.problems[-1]
    assert message.startswith(f"aml-gpu-inference:tags.expires-on = {show(value)}: ")
    assert "YYYY-MM-DD" in message


@pytest.mark.parametrize("raw", ["not json", '"2026-11-27"', "[1, 2]", "42"])
def test_tags_that_are_not_an_object_are_malformed(raw):
    result = assess(facts(raw=raw), datetime(2100, 1, 1, tzinfo=UTC))
    assert result.verdict is Verdict.MALFORMED
    assert "aml-gpu-inference:tags" in result.source and "expected an object" in result.source


# --- missing --------------------------------------------------------------------------------------


def test_missing_tags_on_a_non_dev_stack_are_reported_not_expired_not_eternal():
    for raw in (None, tags(owner="ana")):
        result = assess(facts(name="prod", raw=raw), datetime(2100, 1, 1, tzinfo=UTC))
        assert result.verdict is Verdict.MISSING
        assert result.deadline is None
        assert result.needs_attention
        assert any("expires-on is missing" in p for p in result.problems)


def test_a_missing_owner_is_a_problem_but_the_expiry_still_decides():
    result = assess(facts(raw=tags(**{"expires-on": "2026-01-01"})), datetime(2026, 6, 1, tzinfo=UTC))
    assert result.verdict is Verdict.EXPIRED
    assert result.owner is None
    assert result.problems == ("aml-gpu-inference:tags.owner is missing; expected a non-empty string",)


def test_a_blank_owner_is_reported():
    result = assess(
        facts(raw=tags(owner="  ", **{"expires-on": "2099-01-01"})), datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert result.verdict is Verdict.ACTIVE
    assert result.needs_attention and "owner" in result.problems[0]


# --- dev stacks: default lifetime from the last up ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "dev"),
    [
        ("dev", True),
        ("dev-ana", True),
        ("org/proj/dev", True),
        ("devops", False),
        ("prod", False),
        ("local", False),
        ("my-dev", False),
    ],
)
def test_which_stacks_are_dev_stacks(name, dev):
    assert is_dev_stack(name) is dev


def test_a_dev_stack_without_expiry_lives_the_default_after_its_last_up_inclusive():
    last_up = datetime(2026, 11, 20, 22, 15, tzinfo=UTC)
    stack = facts(name="dev-ana", raw=tags(owner="ana"), last_up=last_up)
    last_day = date(2026, 11, 20) + timedelta(days=DEFAULT_DEV_LIFETIME_DAYS)
    alive = assess(stack, datetime.combine(last_day, datetime.max.time(), tzinfo=UTC))
    assert alive.verdict is Verdict.ACTIVE
    assert "dev default" in alive.source
    assert not alive.needs_attention
    gone = assess(stack, datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC))
    assert gone.verdict is Verdict.EXPIRED


def test_the_dev_default_counts_the_up_day_in_utc():
    # 23:30 in California on the 20th is the 21st in UTC: the default counts from the 21st.
    stack = facts(name="dev", raw=tags(owner="ana"), last_up=datetime(2026, 11, 20, 23, 30, tzinfo=PST))
    result = assess(stack, datetime(2026, 11, 28, 12, tzinfo=UTC))
    assert result.deadline == datetime(2026, 11, 29, tzinfo=UTC)


def test_the_dev_default_matches_the_date_make_up_stamps():
    up_day = date(2026, 11, 27)
    stamped = assess(
        facts(name="dev", raw=tags(owner="a", **{"expires-on": default_dev_expiry(up_day).isoformat()})),
        datetime(2026, 11, 27, tzinfo=UTC),
    )
    defaulted = assess(
        facts(name="dev", raw=tags(owner="a"), last_up=datetime(2026, 11, 27, 9, tzinfo=UTC)),
        datetime(2026, 11, 27, tzinfo=UTC),
    )
    assert stamped.deadline == defaulted.deadline


def test_a_dev_stack_never_deployed_has_no_default_and_is_reported():
    result = assess(facts(name="dev", raw=None, last_up=None), datetime(2100, 1, 1, tzinfo=UTC))
    assert result.verdict is Verdict.MISSING
    assert "no up to count from" in result.source


def test_an_explicit_expiry_on_a_dev_stack_wins_over_the_default():
    stack = facts(
        name="dev",
        raw=tags(owner="a", **{"expires-on": "2030-01-01"}),
        last_up=datetime(2020, 1, 1, tzinfo=UTC),
    )
    assert assess(stack, datetime(2029, 12, 31, tzinfo=UTC)).verdict is Verdict.ACTIVE


def test_a_malformed_expiry_on_a_dev_stack_gets_no_default():
    stack = facts(
        name="dev", raw=tags(owner="a", **{"expires-on": "soon"}), last_up=datetime(2020, 1, 1, tzinfo=UTC)
    )
    assert assess(stack, datetime(2026, 1, 1, tzinfo=UTC)).verdict is Verdict.MALFORMED


def test_the_lifetime_is_configurable():
    stack = facts(name="dev", raw=None, last_up=datetime(2026, 1, 1, 12, tzinfo=UTC))
    assert assess(stack, datetime(2026, 1, 3, tzinfo=UTC), dev_lifetime_days=1).verdict is Verdict.EXPIRED
    assert assess(stack, datetime(2026, 1, 3, tzinfo=UTC), dev_lifetime_days=2).verdict is Verdict.ACTIVE


# --- the command line `make stamp-expiry` uses ---------------------------------------------------


def test_the_cli_prints_today_plus_the_lifetime(capsys):
    assert main(["--default-dev-expiry", "--days", "3"]) == 0
    printed = date.fromisoformat(capsys.readouterr().out.strip())
    assert printed - datetime.now(UTC).date() == timedelta(days=3)


def test_the_cli_tells_dev_stacks_apart():
    assert main(["--is-dev", "--stack", "dev-ana"]) == 0
    assert main(["--is-dev", "--stack", "prod"]) == 1


def test_the_cli_refuses_a_lifetime_below_one_day(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--default-dev-expiry", "--days", "0"])
    assert exit_info.value.code == 2
    assert "--days: 0 is not allowed: a whole number ≥ 1" in capsys.readouterr().err
