"""The estimate in the forms its callers show: a few preview lines (`describe`), a Markdown table
with the change against a base (`markdown`, the PR comment), JSON (`to_json`) and the stack output
(`stack_output`). Unknown prices are written "unknown", never 0; every form names its sources."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .estimate import HOURS_PER_30_DAYS, CostEstimate, CostLine


def money(amount: Decimal, places: int = 2) -> str:
    return str(amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def hourly_text(estimate: CostEstimate) -> str:
    """The hourly total with its currency, or what it lacks."""
    known = f"{money(estimate.hourly, 4)} {estimate.currency}/h"
    if estimate.complete:
        return known
    return f"unknown (no price for {', '.join(estimate.unknown)}; the rest {known})"


def source_text(estimate: CostEstimate) -> str:
    text = "; ".join(estimate.sources) or "no price found"
    if estimate.api_error:
        text += f" (the Retail Prices API was not used: {estimate.api_error})"
    return text


def _line_text(line: CostLine, currency: str) -> str:
    if line.price is None:
        return f"  {line.item}: {line.detail}: unknown (no price in the API or the table)"
    unit = "day" if line.price.unit == "1 Day" else "h"
    text = f"  {line.item}: {line.detail} at {money(line.price.amount, 4)} {currency}/{unit}"
    text += f" = {money(line.hourly or Decimal(0), 4)} {currency}/h"
    if line.quantity_max is not None and line.quantity_max != line.quantity:
        text += f", {money(line.hourly_max or Decimal(0), 4)} {currency}/h with {line.quantity_max} nodes"
    return text + (f" ({line.note})" if line.note else "")


def _horizons(estimate: CostEstimate) -> str:
    cur = estimate.currency
    parts = [f"30 days {money(estimate.per_30_days)} {cur}"]
    if estimate.expires_at is not None:
        until = estimate.until_expiry or Decimal(0)
        hours = estimate.hours_to_expiry or Decimal(0)
        when = estimate.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        parts.append(
            f"until expires-on ({when}, {money(hours, 0)} h) {money(until)} {cur}"
            if hours > 0
            else f"expires-on passed ({when}): the cost guard destroys it"
        )
    else:
        parts.append("no expires-on: no end")
    if not estimate.complete:
        parts = [f"{part} plus the unknown" for part in parts]
    return "; ".join(parts)


def describe(estimate: CostEstimate) -> str:
    """A few lines for `pulumi preview`/`up` and `make cost`."""
    lines = [
        f"cost estimate of {estimate.stack} ({estimate.target}, {estimate.region}): {hourly_text(estimate)}"
        + (
            f", up to {money(estimate.hourly_max, 4)} {estimate.currency}/h during node upgrades"
            if estimate.hourly_max != estimate.hourly
            else ""
        ),
        *(_line_text(line, estimate.currency) for line in estimate.lines),
        "  other node pools: none (the GPU pool is the cluster's only pool)",
        f"  {_horizons(estimate)}",
        f"  billed by use, not estimated: {', '.join(estimate.billed_by_use)}",
        f"  prices: {source_text(estimate)}",
    ]
    return "\n".join(lines)


def markdown(estimate: CostEstimate | None, base: CostEstimate | None = None, *, base_note: str = "") -> str:
    """The PR comment's cost section: the table, the totals and the change against `base`."""
    if estimate is None:
        return "**Cost estimate:** none (not an Azure stack)."
    cur = estimate.currency
    rows = ["| item | detail | per hour | note |", "| --- | --- | --- | --- |"]
    for line in estimate.lines:
        hourly = "unknown" if line.hourly is None else f"{money(line.hourly, 4)} {cur}"
        if line.hourly_max is not None and line.hourly_max != line.hourly:
            hourly += f" (up to {money(line.hourly_max, 4)})"
        rows.append(f"| {line.item} | {line.detail} | {hourly} | {line.note or ''} |")
    out = [
        f"**Cost estimate of `{estimate.stack}`** ({estimate.target}, {estimate.region}): "
        f"**{hourly_text(estimate)}**; {_horizons(estimate)}.",
        "",
        *rows,
        "",
        f"Billed by use, not estimated: {', '.join(estimate.billed_by_use)}.",
        f"Prices: {source_text(estimate)}.",
    ]
    change = cost_change(estimate, base, base_note)
    if change:
        out += ["", change]
    return "\n".join(out)


def cost_change(estimate: CostEstimate, base: CostEstimate | None, base_note: str = "") -> str:
    """How this change moves the hourly cost (empty when nothing changes)."""
    if base is None:
        why = base_note or "no base to compare with"
        return f"**Change in cost:** {why}; this stack costs {hourly_text(estimate)}."
    if not (estimate.complete and base.complete):
        return "**Change in cost:** unknown (a price is unknown on one side)."
    if base.currency != estimate.currency:
        return "**Change in cost:** unknown (the two estimates use different currencies)."
    delta = estimate.hourly - base.hourly
    if delta == 0 and estimate.hourly_max == base.hourly_max:
        return ""
    sign = "+" if delta >= 0 else "−"
    cur = estimate.currency
    return (
        f"**Change in cost:** {sign}{money(abs(delta), 4)} {cur}/h "
        f"({sign}{money(abs(delta) * HOURS_PER_30_DAYS)} {cur} per 30 days): "
        f"{money(base.hourly, 4)} → {money(estimate.hourly, 4)} {cur}/h."
    )


def to_json(estimate: CostEstimate) -> dict[str, Any]:
    return {
        "stack": estimate.stack,
        "target": estimate.target,
        "region": estimate.region,
        "currency": estimate.currency,
        "complete": estimate.complete,
        "unknown": list(estimate.unknown),
        "hourly": float(estimate.hourly) if estimate.complete else None,
        "hourly_known_part": float(estimate.hourly),
        "hourly_max": float(estimate.hourly_max) if estimate.complete else None,
        "per_30_days": float(estimate.per_30_days) if estimate.complete else None,
        "expires_at": estimate.expires_at.isoformat() if estimate.expires_at else None,
        "until_expiry": float(estimate.until_expiry)
        if estimate.complete and estimate.until_expiry is not None
        else None,
        "lines": [
            {
                "item": line.item,
                "detail": line.detail,
                "hourly": None if line.hourly is None else float(line.hourly),
                "hourly_max": None if line.hourly_max is None else float(line.hourly_max),
                "unit_price": None if line.price is None else str(line.price.amount),
                "unit": None if line.price is None else line.price.unit,
                "source": None if line.price is None else line.price.label,
                "reference": None if line.price is None else line.price.reference,
            }
            for line in estimate.lines
        ],
        "billed_by_use": list(estimate.billed_by_use),
        "sources": list(estimate.sources),
        "api_error": estimate.api_error,
    }


def stack_output(estimate: CostEstimate) -> dict[str, Any]:
    """The `cost_per_hour` stack output: the hourly figure (None when a price is unknown), its
    currency, the high end during node upgrades, and where the prices came from."""
    return {
        "amount": float(round(estimate.hourly, 4)) if estimate.complete else None,
        "currency": estimate.currency,
        "up_to": float(round(estimate.hourly_max, 4)) if estimate.complete else None,
        "unknown": list(estimate.unknown),
        "sources": list(estimate.sources),
    }
