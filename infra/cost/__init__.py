"""What a stack costs: an estimate from its config, priced by the Azure Retail Prices API or, without
it, by the price table shipped here. One package, called by the program (`__main__.py`: an info
diagnostic and the `cost_per_hour` output), `make cost` (`python -m cost`), the pull request's
preview comment (`scripts/preview_comment.py`) and the cost guard (`scripts/cost_guard.py`).

    prices.py       the Retail Prices API client: filter, paging, the meter picked, a one-day cache
    table.py        the shipped price table (`price_table.json`: each price with its date and source)
    estimate.py     `CostEstimate` from a `StackConfig`: the GPU pool with its upgrade surge, the
                    registry, AKS management, what is billed by use; per hour, 30 days, until expiry
    report.py       the estimate as preview lines, a Markdown table, JSON, and the stack output
    stack_file.py   the config of `Pulumi.<stack>.yaml` (or the Automation API's) as an estimate

Errors: `PriceError` (the API could not answer; the table is used instead and the output says why)
and `PriceTableError` (the shipped table is malformed: a bug, never a silent zero). A price that
neither knows is `None` and reported as unknown.
"""

from __future__ import annotations

from .estimate import CostEstimate, estimate_stack
from .prices import Price, PriceBook, PriceError, RetailPricesClient, price_book_from_environment
from .report import describe, markdown, stack_output, to_json
from .table import PriceTable, PriceTableError, load_table

__all__ = [
    "CostEstimate",
    "Price",
    "PriceBook",
    "PriceError",
    "PriceTable",
    "PriceTableError",
    "RetailPricesClient",
    "describe",
    "estimate_stack",
    "load_table",
    "markdown",
    "price_book_from_environment",
    "stack_output",
    "to_json",
]
