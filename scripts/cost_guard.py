"""Cost guard: destroy the project's expired stacks, report the ones whose expiry cannot be read.

    python -m scripts.cost_guard [--dry-run] [--stack NAME ...] [--json-out FILE]

It lists the project's stacks with the Pulumi Automation API, reads each stack's
`aml-gpu-inference:tags` config, applies `scripts.expiry`'s rules and destroys (`pulumi destroy`,
history and config kept) every expired stack that still has resources. `--dry-run` only reports.
Each row carries the stack's hourly cost, estimated from its config by `infra/cost` (docs/cost.md),
and, for a stack due for destruction, what destroying it saves per day.
`--stack` limits the run to the named stacks (the scheduled workflow destroys one stack per job,
inside that stack's concurrency group, and re-checks its expiry right before destroying).

Exit codes, for the scheduled job:
    0  every stack has a readable expiry and every destroy that was due succeeded (or, with
       --dry-run, was listed)
    1  the guard itself failed (stacks could not be listed, a named stack does not exist)
    2  bad command line
    3  some stack has a missing or malformed expiry or owner: reported, left alone
    4  some destroy failed (the stack is assumed to still exist); wins over 3

The Automation API needs the Pulumi CLI and the backend login (PULUMI_BACKEND_URL,
PULUMI_CONFIG_PASSPHRASE) and, to destroy Azure stacks, Azure credentials in the environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol, TextIO

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT / "infra") not in sys.path:
    sys.path.append(str(PROJECT_ROOT / "infra"))  # `cost` imports `config` top-level, as the engine does

from cost import PriceBook, price_book_from_environment  # noqa: E402
from cost.report import hourly_text, source_text  # noqa: E402
from cost.stack_file import estimate_from_values  # noqa: E402
from infra.rules.checks import refusal  # noqa: E402
from infra.rules.tags import EXPIRES_TAG, TAGS_KEY  # noqa: E402
from scripts.cost_guard_report import (  # noqa: E402  (re-exported: the guard's report types)
    Action,
    Decision,
    ExitCode,
    GuardReport,
    StackCost,
    format_table,
    report_json,
    when_text,
)
from scripts.expiry import (  # noqa: E402
    DEFAULT_DEV_LIFETIME_DAYS,
    DEV_LIFETIME_DAYS,
    Assessment,
    StackFacts,
    Verdict,
    assess,
    is_dev_stack,
)


@dataclass(frozen=True)
class StackListing:
    """One row of `pulumi stack ls`: the name as the backend spells it and its resource count."""

    name: str
    resource_count: int | None  # None: the backend did not say, so the guard assumes resources


class Stacks(Protocol):
    """The guard's boundary to Pulumi. `AutomationStacks` is the real one; tests pass a double."""

    def list_stacks(self) -> list[StackListing]: ...

    def config(self, stack: str) -> Mapping[str, str]:
        """The stack's config as plain values keyed `namespace:key` (objects as JSON text)."""
        ...

    def last_up(self, stack: str) -> datetime | None:
        """The end (aware) of the stack's last successful `pulumi up`; None if there was none."""
        ...

    def destroy(self, stack: str) -> None:
        """Destroy every resource of the stack; raises if that fails."""
        ...


def run_guard(
    stacks: Stacks,
    now: datetime,
    *,
    dry_run: bool,
    only: Iterable[str] = (),
    dev_lifetime_days: int = DEFAULT_DEV_LIFETIME_DAYS,
    log: Callable[[str], None] = lambda _line: None,
    prices: PriceBook | None = None,
) -> GuardReport:
    """Assess every stack (or only the named ones) and destroy the expired ones unless `dry_run`.

    A stack is destroyed only when its verdict is EXPIRED; missing or malformed expiry never
    leads to a destroy. A failed destroy is recorded and the guard goes on with the next stack.
    """
    listings = stacks.list_stacks()
    wanted = set(only)
    unknown = tuple(sorted(wanted - {s.name for s in listings}))
    if wanted:
        listings = [s for s in listings if s.name in wanted]

    decisions: list[Decision] = []
    for listing in sorted(listings, key=lambda s: s.name):
        facts = _facts(stacks, listing.name)
        assessment = assess(facts, now, dev_lifetime_days=dev_lifetime_days)
        decision = _decide(stacks, listing, assessment, dry_run, log)
        if prices is not None:
            decision = dataclasses.replace(decision, cost=stack_cost(stacks, listing.name, prices, now))
        decisions.append(decision)
    return GuardReport(now, dry_run, tuple(decisions), unknown)


def _facts(stacks: Stacks, name: str) -> StackFacts:
    tags = stacks.config(name).get(TAGS_KEY)
    needs_last_up = is_dev_stack(name) and not _declares_expiry(tags)
    return StackFacts(name=name, tags=tags, last_up=stacks.last_up(name) if needs_last_up else None)


def stack_cost(stacks: Stacks, name: str, prices: PriceBook, now: datetime) -> StackCost:
    """The stack's hourly cost from its config. Read before a destroy would change nothing: the
    config outlives the resources. A config the estimate can't read is an unknown cost, named."""
    try:
        estimate = estimate_from_values(stacks.config(name), stack=name, prices=prices, now=now)
    except Exception as e:  # any config problem: the guard still decides; the cost says why it's unknown
        return StackCost(None, f"unknown ({_first_line(str(e))})")
    if estimate is None:
        return StackCost(Decimal(0), "0 (local target: nothing billed)")
    hourly = estimate.hourly if estimate.complete else None
    return StackCost(hourly, hourly_text(estimate), estimate.currency, source_text(estimate))


def _declares_expiry(tags: str | None) -> bool:
    if tags is None:
        return False
    try:
        decoded = json.loads(tags)
    except json.JSONDecodeError:
        return True  # malformed: assess() reports it, no default applies
    return not isinstance(decoded, dict) or EXPIRES_TAG in decoded


def _decide(
    stacks: Stacks, listing: StackListing, assessment: Assessment, dry_run: bool, log: Callable[[str], None]
) -> Decision:
    if assessment.verdict in (Verdict.MISSING, Verdict.MALFORMED):
        return Decision(assessment, Action.REPORT, "; ".join(assessment.problems))
    note = "; ".join(assessment.problems)
    if assessment.verdict is Verdict.ACTIVE:
        return Decision(assessment, Action.KEEP, note)
    if listing.resource_count == 0:
        return Decision(assessment, Action.NOTHING_TO_DESTROY, note)
    if dry_run:
        return Decision(assessment, Action.WOULD_DESTROY, note)
    owner = assessment.owner or "?"
    log(f"destroying {listing.name} (expired {when_text(assessment.deadline)}, owner {owner})")
    try:
        stacks.destroy(listing.name)
    except Exception as e:  # any failure: the stack is assumed to still exist; go on with the others
        reason = f"{type(e).__name__}: {_first_line(str(e))}"
        log(f"destroy of {listing.name} failed: {reason}")
        return Decision(assessment, Action.DESTROY_FAILED, "; ".join(filter(None, [reason, note])))
    return Decision(assessment, Action.DESTROYED, note)


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no message)"


class AutomationStacks:
    """`Stacks` over the Pulumi Automation API (a `LocalWorkspace` on the project directory).

    Needs the Pulumi CLI on PATH (or `pulumi_command`) and the backend login in the environment.
    """

    def __init__(self, work_dir: Path = PROJECT_ROOT, pulumi_command: object | None = None) -> None:
        from pulumi import automation as auto  # imported here so the pure logic loads without the SDK

        self._auto = auto
        self._work_dir = str(work_dir)
        self._workspace = auto.LocalWorkspace(work_dir=self._work_dir, pulumi_command=pulumi_command)

    def list_stacks(self) -> list[StackListing]:
        return [StackListing(s.name, s.resource_count) for s in self._workspace.list_stacks()]

    def config(self, stack: str) -> Mapping[str, str]:
        return {key: value.value for key, value in self._workspace.get_all_config(stack).items()}

    def last_up(self, stack: str) -> datetime | None:
        # The last *up*: refreshes (the nightly drift check) must not extend a dev stack's life.
        # `stack history` lists newest first; the CLI's times are UTC without an offset.
        for update in self._select(stack).history(show_secrets=False):
            if update.kind == "update" and update.result == "succeeded":
                moment = update.end_time or update.start_time
                return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        return None

    def destroy(self, stack: str) -> None:
        self._select(stack).destroy(on_output=print, suppress_outputs=True, color="never")

    def _select(self, stack: str):  # -> auto.Stack
        return self._auto.Stack.select(stack, self._workspace)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.cost_guard",
        description="Destroy expired stacks; report stacks whose expiry cannot be read.",
        epilog="Exit codes: 0 ok, 1 guard failed, 2 usage, 3 missing/malformed tags, 4 a destroy failed.",
    )
    parser.add_argument("--dry-run", action="store_true", help="only report what would be destroyed")
    parser.add_argument(
        "--stack", action="append", default=[], metavar="NAME", help="only this stack (repeatable)"
    )
    parser.add_argument("--json-out", type=Path, metavar="FILE", help="also write the report as JSON to FILE")
    parser.add_argument(
        "--dev-lifetime-days",
        type=int,
        default=DEFAULT_DEV_LIFETIME_DAYS,
        help=f"days a dev stack without expires-on lives after its last up ({DEFAULT_DEV_LIFETIME_DAYS})",
    )
    parser.add_argument("--work-dir", type=Path, default=PROJECT_ROOT, help="the Pulumi project directory")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stacks: Stacks | None = None,
    now: datetime | None = None,
    out: TextIO = sys.stdout,
    prices: PriceBook | None = None,
) -> int:
    """The command line. `stacks` and `now` are for tests; by default the Automation API and the clock."""
    parser = _parser()
    args = parser.parse_args(argv)
    if DEV_LIFETIME_DAYS.refuses(args.dev_lifetime_days):
        parser.error(f"--dev-lifetime-days: {refusal(args.dev_lifetime_days, DEV_LIFETIME_DAYS.allowed)}")
    now = now or datetime.now(UTC)

    def log(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        stacks = stacks or AutomationStacks(args.work_dir)
        prices = prices or price_book_from_environment(os.environ)
        report = run_guard(
            stacks,
            now,
            dry_run=args.dry_run,
            only=args.stack,
            dev_lifetime_days=args.dev_lifetime_days,
            log=log,
            prices=prices,
        )
    except Exception as e:  # listing or reading config failed: nothing was decided
        print(f"cost guard failed: {type(e).__name__}: {e}", file=sys.stderr)
        return ExitCode.ERROR
    print(format_table(report), file=out)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(report_json(report), indent=2) + "\n")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
