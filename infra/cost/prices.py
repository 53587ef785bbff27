"""Prices: the Azure Retail Prices API (public, no credentials), cached for a day, and the
`PriceBook` that asks it first and the shipped table (table.py) when it can't answer.

The API (https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices):
`GET https://prices.azure.com/api/retail/prices?currencyCode='EUR'&$filter=...` answers
`{"BillingCurrency", "Items": [...], "NextPageLink": url or null, "Count"}`; each page holds a
bounded number of items and `NextPageLink` is the next page's URL until the last page, where it is
null. An item carries `armRegionName`, `armSkuName`, `skuName`, `meterName`, `productName`,
`type` (`Consumption`, `Reservation`, `DevTestConsumption`), `unitOfMeasure` (`1 Hour`),
`retailPrice`, `currencyCode`, `isPrimaryMeterRegion` and `effectiveStartDate`.

A VM size has several meters in one region: Linux and Windows (`productName` ends in "Windows"),
Spot and Low Priority (in `skuName`/`meterName`), reservations. `pick_meter` keeps the Linux
pay-as-you-go hourly meter; `None` when there is none, never a zero.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .table import PriceTable, load_table

API_URL = "https://prices.azure.com/api/retail/prices"
API_NAME = "Azure Retail Prices API"
CACHE_MAX_AGE = timedelta(days=1)
MAX_PAGES = 50
TIMEOUT_S = 5.0
PRICE_SOURCE_ENV = "AMLGPU_PRICE_SOURCE"  # api (default: the API, else the table) or table
PRICE_SOURCES = ("api", "table")
_EXCLUDED_SKU_WORDS = ("Spot", "Low Priority")
_HOUR = "1 Hour"

Fetch = Callable[[str], Mapping[str, Any]]  # URL -> the decoded JSON page


class PriceError(RuntimeError):
    """The Retail Prices API could not answer (network, HTTP, a malformed page)."""


@dataclass(frozen=True)
class Price:
    """A unit price and where it came from."""

    amount: Decimal  # per `unit`
    unit: str  # "1 Hour" or "1 Day"
    currency: str
    source: str  # API_NAME or "price table"
    as_of: str  # the API's fetch date, or the date the table's price was read (YYYY-MM-DD)
    reference: str = ""  # the URL it came from

    @property
    def per_hour(self) -> Decimal:
        return self.amount / 24 if self.unit == "1 Day" else self.amount

    @property
    def label(self) -> str:
        return f"{self.source} of {self.as_of}"


def cache_directory(environ: Mapping[str, str]) -> Path:
    """`$XDG_CACHE_HOME/aml-gpu-inference/retail-prices`, else `~/.cache/...`."""
    base = environ.get("XDG_CACHE_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".cache")
    return Path(base) / "aml-gpu-inference" / "retail-prices"


@dataclass
class PriceCache:
    """The API's answers by query URL, kept for a day (a file per query; best effort)."""

    directory: Path
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    max_age: timedelta = CACHE_MAX_AGE

    def _path(self, url: str) -> Path:
        return self.directory / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".json")

    def get(self, url: str) -> tuple[list[dict[str, Any]], datetime] | None:
        try:
            entry = json.loads(self._path(url).read_text())
            fetched = datetime.fromisoformat(entry["fetched_at"])
            items = entry["items"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if entry.get("url") != url or not isinstance(items, list):
            return None
        age = self.now() - fetched
        return (items, fetched) if timedelta(0) <= age < self.max_age else None

    def put(self, url: str, items: Sequence[Mapping[str, Any]], fetched: datetime) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self._path(url)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"url": url, "fetched_at": fetched.isoformat(), "items": list(items)}))
            tmp.replace(path)
        except OSError:
            pass  # a cache that can't be written only costs a fetch next time


def urllib_fetch(timeout: float = TIMEOUT_S) -> Fetch:
    def fetch(url: str) -> Mapping[str, Any]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            raise PriceError(f"HTTP {e.code} from {_host(url)}") from e
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise PriceError(f"{_host(url)} unreachable ({reason})") from e
        except ValueError as e:
            raise PriceError(f"{_host(url)} answered something that is not JSON") from e

    return fetch


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def vm_query_url(base_url: str, region: str, sku: str, currency: str) -> str:
    """The first page's URL: this region's pay-as-you-go meters of this VM size, in `currency`."""
    odata = (
        f"serviceName eq 'Virtual Machines' and armRegionName eq '{_quoted(region)}' "
        f"and armSkuName eq '{_quoted(sku)}' and priceType eq 'Consumption'"
    )
    query = urllib.parse.urlencode(
        {"currencyCode": f"'{currency}'", "$filter": odata}, quote_via=urllib.parse.quote, safe="'$"
    )
    return f"{base_url}?{query}"


def _quoted(value: str) -> str:
    return value.replace("'", "''")  # OData's escape for a quote inside a string literal


@dataclass
class RetailPricesClient:
    """The API's items for one query, all pages, cached; `vm_hourly` picks the meter."""

    fetch: Fetch = field(default_factory=urllib_fetch)
    cache: PriceCache | None = None
    base_url: str = API_URL
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    max_pages: int = MAX_PAGES

    def items(self, url: str) -> tuple[list[dict[str, Any]], datetime]:
        if self.cache is not None and (hit := self.cache.get(url)) is not None:
            return hit
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        page_url: str | None = url
        while page_url:
            if page_url in seen or len(seen) >= self.max_pages:
                raise PriceError(f"{API_NAME}: paging did not end after {len(seen)} pages")
            if _host(page_url) != _host(self.base_url):
                raise PriceError(f"{API_NAME}: NextPageLink leaves {_host(self.base_url)}: {_host(page_url)}")
            seen.add(page_url)
            page = self.fetch(page_url)
            page_items = page.get("Items") if isinstance(page, Mapping) else None
            if not isinstance(page_items, list):
                raise PriceError(f"{API_NAME}: a page without an Items list")
            items.extend(item for item in page_items if isinstance(item, dict))
            next_link = page.get("NextPageLink")
            page_url = next_link if isinstance(next_link, str) and next_link else None
        fetched = self.now()
        if self.cache is not None:
            self.cache.put(url, items, fetched)
        return items, fetched

    def vm_hourly(self, sku: str, region: str, currency: str) -> Price | None:
        url = vm_query_url(self.base_url, region, sku, currency)
        items, fetched = self.items(url)
        meter = pick_meter(items, sku=sku, region=region, currency=currency)
        if meter is None:
            return None
        return Price(
            _decimal(meter["retailPrice"]),
            _HOUR,
            currency,
            API_NAME,
            fetched.date().isoformat(),
            self.base_url,
        )


def pick_meter(
    items: Sequence[Mapping[str, Any]], *, sku: str, region: str, currency: str
) -> Mapping[str, Any] | None:
    """The Linux pay-as-you-go hourly meter of `sku` in `region`, priced in `currency`.

    Skipped: other sizes or regions, `type` other than Consumption, units other than `1 Hour`,
    Spot and Low Priority meters, Windows products, other currencies, prices that are not a
    positive number. Of several left, the primary meter region's, then the newest, then the
    dearest (an estimate that errs, errs high).
    """
    candidates = [item for item in items if _is_linux_consumption(item, sku, region, currency)]
    if not candidates:
        return None
    return max(
        candidates,
        key=lambda item: (
            item.get("isPrimaryMeterRegion") is not False,
            str(item.get("effectiveStartDate") or ""),
            _decimal(item["retailPrice"]),
        ),
    )


def _is_linux_consumption(item: Mapping[str, Any], sku: str, region: str, currency: str) -> bool:
    words = f"{item.get('skuName') or ''} {item.get('meterName') or ''}"
    return (
        str(item.get("armSkuName", "")).lower() == sku.lower()
        and str(item.get("armRegionName", "")).lower() == region.lower()
        and item.get("type") == "Consumption"
        and item.get("unitOfMeasure") == _HOUR
        and item.get("currencyCode", currency) == currency
        and not any(word in words for word in _EXCLUDED_SKU_WORDS)
        and "Windows" not in str(item.get("productName") or "")
        and _positive(item.get("retailPrice"))
    )


def _positive(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        return _decimal(value) > 0
    except (InvalidOperation, ValueError):
        return False


def _decimal(value: object) -> Decimal:
    return Decimal(str(value))


@dataclass
class PriceBook:
    """Every price the estimate needs: the API first (VM sizes), the shipped table otherwise.

    `api_error` holds why the API could not answer, so the output can say why the table was used.
    """

    table: PriceTable
    client: RetailPricesClient | None = None
    currency: str = "USD"
    api_error: str | None = None
    _vm: dict[tuple[str, str], Price | None] = field(default_factory=dict)

    def vm_hourly(self, sku: str, region: str) -> Price | None:
        key = (sku.lower(), region.lower())
        if key not in self._vm:
            self._vm[key] = self._lookup_vm(sku, region)
        return self._vm[key]

    def _lookup_vm(self, sku: str, region: str) -> Price | None:
        if self.client is not None and self.api_error is None:
            try:
                price = self.client.vm_hourly(sku, region, self.currency)
            except PriceError as e:
                self.api_error = str(e)
            else:
                if price is not None:
                    return price
        return self.table.vm_hourly(sku, region, self.currency)

    def registry_daily(self, tier: str) -> Price | None:
        return self.table.registry_daily(tier, self.currency)

    def aks_management_hourly(self, tier: str) -> Price | None:
        return self.table.aks_management_hourly(tier, self.currency)


def price_book_from_environment(
    environ: Mapping[str, str] = os.environ,
    *,
    currency: str = "USD",
    fetch: Fetch | None = None,
    table: PriceTable | None = None,
) -> PriceBook:
    """The program's and the scripts' `PriceBook`: `AMLGPU_PRICE_SOURCE=table` skips the API."""
    source = environ.get(PRICE_SOURCE_ENV, "api").strip() or "api"
    if source not in PRICE_SOURCES:
        raise ValueError(
            f"{PRICE_SOURCE_ENV}={source!r} is not allowed: {' or '.join(PRICE_SOURCES)} "
            "(api: the Retail Prices API, else the shipped table; table: the shipped table only)"
        )
    table = table or load_table()
    client = None
    if source == "api":
        client = RetailPricesClient(fetch=fetch or urllib_fetch(), cache=PriceCache(cache_directory(environ)))
    return PriceBook(table=table, client=client, currency=currency)
