"""The Retail Prices API client against pages of the API's documented shape, served over real
local HTTP by the test (prices.azure.com is unreachable here): paging through NextPageLink,
several meters per size (Linux, Windows, Spot, Low Priority, reservations, other regions), the
currency asked for, the one-day cache, and the PriceBook's fallback to the shipped table.

The shape (Items, NextPageLink, armRegionName, armSkuName, skuName, meterName, productName,
type, unitOfMeasure, retailPrice, currencyCode, isPrimaryMeterRegion) is the one documented at
https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from cost.prices import (
    API_NAME,
    PriceBook,
    PriceCache,
    PriceError,
    RetailPricesClient,
    cache_directory,
    pick_meter,
    price_book_from_environment,
    urllib_fetch,
)
from cost.table import TABLE_NAME, PriceTableError, load_table

SKU = "Standard_NC4as_T4_v3"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
# The Linux pay-as-you-go price the client must pick, per currency; every other row is a decoy.
LINUX = {"USD": 0.611, "EUR": 0.577}


def item(currency: str = "USD", **overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "currencyCode": currency,
        "tierMinimumUnits": 0.0,
        "retailPrice": LINUX[currency],
        "unitPrice": LINUX[currency],
        "armRegionName": "eastus",
        "location": "US East",
        "effectiveStartDate": "2024-05-01T00:00:00Z",
        "meterId": "m-linux",
        "meterName": "NC4as T4 v3",
        "productName": "Virtual Machines NCasT4 v3 Series",
        "skuName": "NC4as T4 v3",
        "serviceName": "Virtual Machines",
        "serviceFamily": "Compute",
        "unitOfMeasure": "1 Hour",
        "type": "Consumption",
        "isPrimaryMeterRegion": True,
        "armSkuName": SKU,
    }
    return {**base, **overrides}


def decoys(currency: str) -> list[dict[str, object]]:
    return [
        item(currency, productName="Virtual Machines NCasT4 v3 Series Windows", retailPrice=0.9),
        item(currency, skuName="NC4as T4 v3 Spot", meterName="NC4as T4 v3 Spot", retailPrice=0.05),
        item(
            currency,
            skuName="NC4as T4 v3 Low Priority",
            meterName="NC4as T4 v3 Low Priority",
            retailPrice=0.1,
        ),
        item(currency, type="DevTestConsumption", retailPrice=0.2),
        item(currency, type="Reservation", unitOfMeasure="1 Hour", retailPrice=0.3),
        item(currency, armRegionName="westeurope", retailPrice=0.7),
        item(currency, armSkuName="Standard_NC8as_T4_v3", retailPrice=0.8),
        item(currency, retailPrice=0),  # a zero is never a price
    ]


class FakeRetailApi(BaseHTTPRequestHandler):
    """Two pages per query: decoys and a NextPageLink first, the Linux meter (in the currency
    asked, USD by default) on the second."""

    requests: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        type(self).requests.append(query)
        currency = query.get("currencyCode", "'USD'").strip("'")
        if "$skip" in query:
            body = {"Items": [item(currency)], "NextPageLink": None, "Count": 1}
        else:
            page2 = self.path + ("&" if "?" in self.path else "?") + "$skip=8"
            body = {
                "BillingCurrency": currency,
                "Items": decoys(currency),
                "NextPageLink": f"http://{self.headers['Host']}{page2}",
                "Count": 8,
            }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    FakeRetailApi.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRetailApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/retail/prices"
    finally:
        server.shutdown()
        server.server_close()


def client(base_url: str, cache_dir: Path | None = None) -> RetailPricesClient:
    cache = PriceCache(cache_dir, now=lambda: NOW) if cache_dir else None
    return RetailPricesClient(fetch=urllib_fetch(timeout=5), cache=cache, base_url=base_url, now=lambda: NOW)


def test_the_linux_pay_as_you_go_meter_is_picked_across_pages(api):
    price = client(api).vm_hourly(SKU, "eastus", "USD")
    assert price is not None
    assert price.amount == Decimal(str(LINUX["USD"]))
    assert (price.unit, price.currency, price.source, price.as_of) == (
        "1 Hour",
        "USD",
        API_NAME,
        "2026-12-04",
    )
    assert len(FakeRetailApi.requests) == 2  # the second page was followed
    odata = FakeRetailApi.requests[0]["$filter"]
    for clause in (
        "armRegionName eq 'eastus'",
        f"armSkuName eq '{SKU}'",
        "priceType eq 'Consumption'",
        "serviceName eq 'Virtual Machines'",
    ):
        assert clause in odata


def test_another_currency_is_asked_for_and_its_meter_picked(api):
    price = client(api).vm_hourly(SKU, "eastus", "EUR")
    assert price is not None and (price.amount, price.currency) == (Decimal(str(LINUX["EUR"])), "EUR")
    assert FakeRetailApi.requests[0]["currencyCode"] == "'EUR'"


def test_only_decoys_means_no_price_not_zero():
    assert pick_meter(decoys("USD"), sku=SKU, region="eastus", currency="USD") is None


def test_of_several_linux_meters_the_primary_region_then_the_newest_wins():
    rows = [
        item(retailPrice=0.5, isPrimaryMeterRegion=False, effectiveStartDate="2026-01-01T00:00:00Z"),
        item(retailPrice=0.6, effectiveStartDate="2023-01-01T00:00:00Z"),
        item(retailPrice=0.55, effectiveStartDate="2025-01-01T00:00:00Z"),
    ]
    assert pick_meter(rows, sku=SKU.lower(), region="EastUS", currency="USD")["retailPrice"] == 0.55


def test_answers_are_cached_for_a_day_in_the_cache_directory(api, tmp_path):
    first = client(api, tmp_path).vm_hourly(SKU, "eastus", "USD")
    assert len(FakeRetailApi.requests) == 2 and list(tmp_path.glob("*.json"))

    def unreachable(_url: str):
        raise PriceError("offline")

    later = RetailPricesClient(
        fetch=unreachable,
        cache=PriceCache(tmp_path, now=lambda: NOW + timedelta(hours=23)),
        base_url=api,
    )
    assert later.vm_hourly(SKU, "eastus", "USD") == first
    stale = RetailPricesClient(
        fetch=unreachable,
        cache=PriceCache(tmp_path, now=lambda: NOW + timedelta(days=1, seconds=1)),
        base_url=api,
    )
    with pytest.raises(PriceError, match="offline"):
        stale.vm_hourly(SKU, "eastus", "USD")


def test_the_cache_lives_in_xdg_cache_home_or_the_home_cache(tmp_path):
    assert (
        cache_directory({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "aml-gpu-inference" / "retail-prices"
    )
    assert (
        cache_directory({"HOME": str(tmp_path)})
        == tmp_path / ".cache" / "aml-gpu-inference" / "retail-prices"
    )


@pytest.mark.parametrize(
    ("next_link", "message"),
    [
        ("http://127.0.0.1:9/api/retail/prices", "paging did not end"),
        ("https://elsewhere.example/x", "leaves"),
    ],
)
def test_paging_that_loops_or_leaves_the_api_is_an_error(next_link, message):
    base = "http://127.0.0.1:9/api/retail/prices"
    pages = RetailPricesClient(
        fetch=lambda _url: {"Items": [], "NextPageLink": next_link}, base_url=base, max_pages=3
    )
    with pytest.raises(PriceError, match=message):
        pages.vm_hourly(SKU, "eastus", "USD")


def test_an_unreachable_api_falls_back_to_the_table_and_says_why(tmp_path):
    table = load_table()
    entry = json.loads(table.path.read_text())["vm_hourly"]["eastus"][SKU]
    book = price_book_from_environment(
        {"XDG_CACHE_HOME": str(tmp_path)},
        fetch=urllib_fetch(timeout=2),
    )
    book.client.base_url = "http://127.0.0.1:9/api/retail/prices"  # nothing listens on port 9
    price = book.vm_hourly(SKU, "eastus")
    assert price is not None
    assert (price.source, price.as_of, price.amount) == (
        TABLE_NAME,
        entry["read_on"],
        Decimal(entry["price"]),
    )
    assert book.api_error and "unreachable" in book.api_error


def test_a_size_in_neither_has_no_price():
    book = PriceBook(table=load_table())
    assert book.vm_hourly("Standard_NC8as_T4_v3", "eastus") is None
    assert book.vm_hourly(SKU, "westeurope") is None  # the table prices eastus only
    assert PriceBook(table=load_table(), currency="EUR").vm_hourly(SKU, "eastus") is None  # the table is USD


def test_a_bad_price_source_names_the_variable_and_the_allowed_values():
    with pytest.raises(ValueError, match=r"AMLGPU_PRICE_SOURCE='tabel' is not allowed: api or table"):
        price_book_from_environment({"AMLGPU_PRICE_SOURCE": "tabel"})


def test_every_table_price_has_a_date_and_a_source(tmp_path):
    data = json.loads(load_table().path.read_text())
    del data["registry_daily"]["Basic"]["source"]
    broken = tmp_path / "table.json"
    broken.write_text(json.dumps(data))
    with pytest.raises(PriceTableError, match=r"registry_daily\.Basic lacks source"):
        load_table(broken)


def test_refresh_table_rewrites_the_vm_price_its_date_and_source_from_the_api(api, tmp_path):
    import io

    from cost.__main__ import refresh_table
    from cost.table import TABLE_PATH

    table = tmp_path / "price_table.json"
    table.write_text(TABLE_PATH.read_text())
    out = io.StringIO()
    assert refresh_table(table, out=out, client=client(api)) == 0
    entry = json.loads(table.read_text())["vm_hourly"]["eastus"][SKU]
    assert entry["price"] == str(LINUX["USD"])  # the Linux meter, past the decoys on page one
    assert entry["source"].startswith(API_NAME) and "NOT a Microsoft page" not in entry["source"]
    assert entry["read_on"] == datetime.now(UTC).date().isoformat()
    # The registry's and AKS's entries are not the API's: left as they were.
    assert (
        json.loads(table.read_text())["registry_daily"]
        == json.loads(TABLE_PATH.read_text())["registry_daily"]
    )
