"""What the cost guard decided (`GuardReport`, one `Decision` per stack) and how it is shown: the
fixed-width table the scheduled job prints and the JSON it writes (`--json-out`).

Imported by scripts/cost_guard.py after it has put `infra/` on `sys.path` (for `cost`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import IntEnum, StrEnum

from cost.report import money
from scripts.expiry import Assessment


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    NEEDS_ATTENTION = 3
    DESTROY_FAILED = 4


class Action(StrEnum):
    KEEP = "keep"
    REPORT = "report"  # unreadable expiry: left alone, a human must look
    WOULD_DESTROY = "would destroy"
    DESTROYED = "destroyed"
    DESTROY_FAILED = "destroy failed"
    NOTHING_TO_DESTROY = "already empty"


@dataclass(frozen=True)
class StackCost:
    """A stack's hourly cost as `infra/cost` estimates it from the stack's config."""

    hourly: Decimal | None  # None: unknown (a price or the config could not be read), never 0
    text: str  # the hourly figure with its currency, or why it is unknown
    currency: str = "USD"
    source: str = ""


@dataclass(frozen=True)
class Decision:
    assessment: Assessment
    action: Action
    note: str = ""
    cost: StackCost | None = None  # None: no prices were given (the cost is not part of the run)

    @property
    def saves_per_day(self) -> Decimal | None:
        """What destroying this stack saves per day: only for one that is due (or was destroyed)."""
        due = self.action in (Action.WOULD_DESTROY, Action.DESTROYED)
        if not due or self.cost is None or self.cost.hourly is None:
            return None
        return self.cost.hourly * 24


@dataclass(frozen=True)
class GuardReport:
    now: datetime
    dry_run: bool
    decisions: tuple[Decision, ...]
    unknown_stacks: tuple[str, ...]  # asked for with --stack but not in the backend

    @property
    def to_destroy(self) -> list[str]:
        """Stacks that are expired and still hold resources (what a dry run would destroy)."""
        due = (Action.WOULD_DESTROY, Action.DESTROYED, Action.DESTROY_FAILED)
        return [d.assessment.stack for d in self.decisions if d.action in due]

    @property
    def exit_code(self) -> ExitCode:
        if self.unknown_stacks:
            return ExitCode.ERROR
        if any(d.action is Action.DESTROY_FAILED for d in self.decisions):
            return ExitCode.DESTROY_FAILED
        if any(d.assessment.needs_attention for d in self.decisions):
            return ExitCode.NEEDS_ATTENTION
        return ExitCode.OK


def when_text(deadline: datetime | None) -> str:
    return deadline.strftime("%Y-%m-%d %H:%M UTC") if deadline else "-"


def format_table(report: GuardReport) -> str:
    """The report as a fixed-width table, one row per stack, then the unknown stacks."""
    header = ("STACK", "OWNER", "EXPIRES AT (UTC)", "FROM", "STATUS", "ACTION", "COST", "SAVES/DAY", "NOTE")
    rows = [
        (
            d.assessment.stack,
            d.assessment.owner or "-",
            when_text(d.assessment.deadline),
            d.assessment.source if d.assessment.deadline else "-",
            d.assessment.verdict.value,
            d.action.value,
            d.cost.text if d.cost else "-",
            _saves_text(d),
            d.note or "-",
        )
        for d in report.decisions
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = [
        "  ".join([*(str(cell).ljust(width) for cell, width in zip(row[:-1], widths, strict=True)), row[-1]])
        for row in [header, *rows]
    ]
    mode = "dry run: nothing destroyed" if report.dry_run else "destroying expired stacks"
    lines.insert(0, f"cost guard at {report.now.strftime('%Y-%m-%d %H:%M:%S UTC')} ({mode})")
    if not rows:
        lines.append("(no stacks)")
    lines.extend(f"ERROR: stack {name!r} is not in this project's backend" for name in report.unknown_stacks)
    sources = sorted({d.cost.source for d in report.decisions if d.cost and d.cost.source})
    lines.extend(f"prices: {source}" for source in sources)
    return "\n".join(lines)


def _saves_text(decision: Decision) -> str:
    saves = decision.saves_per_day
    if saves is not None and decision.cost is not None:
        return f"{money(saves)} {decision.cost.currency}"
    due = decision.action in (Action.WOULD_DESTROY, Action.DESTROYED)
    return "unknown" if due and decision.cost is not None else "-"


def report_json(report: GuardReport) -> dict[str, object]:
    return {
        "now": report.now.isoformat(),
        "dry_run": report.dry_run,
        "exit_code": int(report.exit_code),
        "to_destroy": report.to_destroy,
        "needs_attention": [d.assessment.stack for d in report.decisions if d.assessment.needs_attention],
        "unknown_stacks": list(report.unknown_stacks),
        "stacks": [
            {
                "name": d.assessment.stack,
                "owner": d.assessment.owner,
                "verdict": d.assessment.verdict.value,
                "expires_at": d.assessment.deadline.isoformat() if d.assessment.deadline else None,
                "source": d.assessment.source,
                "action": d.action.value,
                "problems": list(d.assessment.problems),
                "note": d.note,
                "cost_per_hour": None if d.cost is None or d.cost.hourly is None else float(d.cost.hourly),
                "cost": None if d.cost is None else d.cost.text,
                "saves_per_day": None if d.saves_per_day is None else float(d.saves_per_day),
            }
            for d in report.decisions
        ],
    }
