"""`make cost STACK=dev`: the stack's cost estimate from `Pulumi.<stack>.yaml`, without running
the program (run with infra/ on the path: `PYTHONPATH=infra python -m cost --stack dev`).

    python -m cost --stack dev [--currency EUR] [--json] [--project-root DIR]
    python -m cost --refresh-table    re-read the table's VM prices from the Retail Prices API

Exit codes: 0 printed; 2 bad command line, a missing stack file or an invalid config (named);
3 a price is unknown (the estimate is printed, the unknown named); 4 --refresh-table could not
reach the API.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from config import ConfigError
from config.types import PROJECT_ROOT

from .prices import (
    PRICE_SOURCE_ENV,
    PriceError,
    RetailPricesClient,
    price_book_from_environment,
    vm_query_url,
)
from .report import describe, to_json
from .stack_file import StackFileError, estimate_from_file
from .table import TABLE_PATH

CURRENCY = re.compile(r"[A-Z]{3}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cost", description="A stack's cost estimate.")
    parser.add_argument("--stack", help="the stack: reads Pulumi.<stack>.yaml")
    parser.add_argument("--currency", default="USD", help="ISO 4217 code, e.g. EUR (default USD)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--project-root", type=Path, default=PROJECT_ROOT)
    parser.add_argument(
        "--refresh-table", action="store_true", help="re-read the table's VM prices from the API"
    )
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, environ=os.environ) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not CURRENCY.fullmatch(args.currency):
        parser.error(
            f"--currency {args.currency!r} is not allowed: three capital letters (ISO 4217), e.g. USD, EUR"
        )
    if args.refresh_table:
        return refresh_table(TABLE_PATH, out=out)
    if not args.stack:
        parser.error("--stack is required (the stack whose Pulumi.<stack>.yaml to read)")
    try:
        prices = price_book_from_environment(environ, currency=args.currency)
        estimate = estimate_from_file(
            args.project_root / f"Pulumi.{args.stack}.yaml",
            stack=args.stack,
            prices=prices,
            project_root=args.project_root,
        )
    except (ConfigError, StackFileError, ValueError) as e:
        print(f"cost: {e}", file=sys.stderr)
        return 2
    if estimate is None:
        print(f"cost: stack {args.stack} targets this machine (local): nothing is billed", file=out)
        return 0
    print(json.dumps(to_json(estimate), indent=2) if args.json else describe(estimate), file=out)
    return 0 if estimate.complete else 3


def refresh_table(path: Path, *, out: TextIO, client: RetailPricesClient | None = None) -> int:
    """Re-read every VM price in the table from the API (USD); entries it can't price are kept."""
    client = client or RetailPricesClient()
    data = json.loads(path.read_text())
    today = datetime.now(UTC).date().isoformat()
    for region, sizes in data.get("vm_hourly", {}).items():
        for size, entry in sizes.items():
            try:
                price = client.vm_hourly(size, region, data["currency"])
            except PriceError as e:
                print(f"cost: {PRICE_SOURCE_ENV}: the API could not answer: {e}", file=sys.stderr)
                return 4
            if price is None:
                print(
                    f"{region} {size}: the API lists no Linux pay-as-you-go meter; kept as it was", file=out
                )
                continue
            entry.update(
                price=str(price.amount),
                read_on=today,
                source="Azure Retail Prices API (the Linux pay-as-you-go meter: cost.prices.pick_meter)",
                url=vm_query_url(client.base_url, region, size, data["currency"]),
            )
            print(f"{region} {size}: {price.amount} {data['currency']}/h", file=out)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
