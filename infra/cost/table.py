"""The price table shipped with the program (`price_table.json`), used when the Retail Prices API
can't answer. Every price carries the date it was read and its source (a URL); a size or tier
that is not in the table has no price here (`None`: reported as unknown, never as free).

Its prices are in one currency (`currency`, USD): asked for another, the table has no price.
docs/cost.md says what it holds and how to refresh it (`python -m cost --refresh-table`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .prices import Price

TABLE_PATH = Path(__file__).resolve().parent / "price_table.json"
TABLE_NAME = "price table"
SECTIONS = {"vm_hourly": "1 Hour", "registry_daily": "1 Day", "aks_management_hourly": "1 Hour"}


class PriceTableError(ValueError):
    """The shipped table is malformed: the message names the entry and what it lacks."""


@dataclass(frozen=True)
class TableEntry:
    price: Decimal
    read_on: str  # YYYY-MM-DD
    source: str  # what was read
    url: str


@dataclass(frozen=True)
class PriceTable:
    currency: str
    vm: Mapping[tuple[str, str], TableEntry]  # (region, size), lowercased
    registry: Mapping[str, TableEntry]  # tier, lowercased
    aks_management: Mapping[str, TableEntry]  # tier, lowercased
    path: Path = TABLE_PATH

    @property
    def dates(self) -> tuple[str, ...]:
        entries = [*self.vm.values(), *self.registry.values(), *self.aks_management.values()]
        return tuple(sorted({entry.read_on for entry in entries}))

    def vm_hourly(self, sku: str, region: str, currency: str) -> Price | None:
        return self._price(self.vm.get((region.lower(), sku.lower())), "1 Hour", currency)

    def registry_daily(self, tier: str, currency: str) -> Price | None:
        return self._price(self.registry.get(tier.lower()), "1 Day", currency)

    def aks_management_hourly(self, tier: str, currency: str) -> Price | None:
        return self._price(self.aks_management.get(tier.lower()), "1 Hour", currency)

    def _price(self, entry: TableEntry | None, unit: str, currency: str) -> Price | None:
        from .prices import Price

        if entry is None or currency != self.currency:
            return None
        return Price(entry.price, unit, self.currency, TABLE_NAME, entry.read_on, entry.url)


def load_table(path: Path = TABLE_PATH) -> PriceTable:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise PriceTableError(f"{path}: not readable as JSON ({e})") from e
    if not isinstance(data, dict) or not isinstance(data.get("currency"), str):
        raise PriceTableError(f"{path}: needs a top-level object with a 'currency'")
    vm: dict[tuple[str, str], TableEntry] = {}
    for region, sizes in _section(data, "vm_hourly", path).items():
        for size, raw in _object(sizes, f"vm_hourly.{region}", path).items():
            vm[(region.lower(), size.lower())] = _entry(raw, f"vm_hourly.{region}.{size}", path)
    registry = {
        tier.lower(): _entry(raw, f"registry_daily.{tier}", path)
        for tier, raw in _section(data, "registry_daily", path).items()
    }
    aks = {
        tier.lower(): _entry(raw, f"aks_management_hourly.{tier}", path)
        for tier, raw in _section(data, "aks_management_hourly", path).items()
    }
    return PriceTable(data["currency"], vm, registry, aks, path)


def _section(data: Mapping[str, Any], name: str, path: Path) -> Mapping[str, Any]:
    return _object(data.get(name, {}), name, path)


def _object(value: object, where: str, path: Path) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise PriceTableError(f"{path}: {where} must be an object")
    return value


def _entry(raw: object, where: str, path: Path) -> TableEntry:
    entry = _object(raw, where, path)
    missing = [key for key in ("price", "read_on", "source", "url") if not entry.get(key)]
    if missing:
        raise PriceTableError(
            f"{path}: {where} lacks {', '.join(missing)} (every price has its date and source)"
        )
    try:
        price = Decimal(str(entry["price"]))
        date.fromisoformat(entry["read_on"])
    except (InvalidOperation, ValueError) as e:
        raise PriceTableError(
            f"{path}: {where}: price must be a number, read_on a date YYYY-MM-DD ({e})"
        ) from e
    if price < 0:
        raise PriceTableError(f"{path}: {where}: price {price} is negative")
    return TableEntry(price, entry["read_on"], entry["source"], entry["url"])
