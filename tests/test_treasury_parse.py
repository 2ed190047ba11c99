"""Fiscal Data debt, net issuance and auctions: parsing, plausibility, and one endpoint failing alone."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.models import Observation, SourceError
from bot.sources import nyfed, treasury
from bot.sources.derived import dvp_proxy
from storage.observations import Point

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).parents[2] / "shared" / "data" / "api-samples"
BASE_URL = "https://fiscaldata.test/services/api/fiscal_service"


def load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return payload


def test_debt_to_penny_real_row_in_billions() -> None:
    """2026-03-06 as published: $38,869.818B total, $31,280.012B held by the public; "null" skipped."""
    got = treasury.parse_debt_to_penny(load("treasury/debt_to_penny_2026-03-05_2026-03-06.json"))
    assert got == [
        Observation("public_debt", "2026-03-05", 38861.002, "treasury"),
        Observation("debt_held_public", "2026-03-06", 31280.012, "treasury"),
        Observation("public_debt", "2026-03-06", 38869.818, "treasury"),
    ]


def test_debt_to_penny_shared_sample_when_present() -> None:
    sample = SHARED / "fiscaldata_v2_debt_to_penny_sort-record_date_page_size1_2026-03-06.raw.json"
    if not sample.exists():
        pytest.skip("shared data not present")
    got = treasury.parse_debt_to_penny(json.loads(sample.read_text(encoding="utf-8")))
    assert [o.value for o in got if o.series == "public_debt"] == [38869.818]


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("tot_pub_debt_out_amt", "38869818.38", "implausible value"),  # millions sent as dollars
        ("tot_pub_debt_out_amt", "thirty", "non-numeric"),
        ("record_date", "2026-02-30", "malformed record_date"),
        ("debt_held_public_amt", "48869818249468.38", "exceeds the total"),
    ],
)
def test_debt_to_penny_refuses_bad_rows(field: str, value: str, problem: str) -> None:
    body = load("treasury/debt_to_penny_2026-03-05_2026-03-06.json")
    body["data"][0][field] = value
    with pytest.raises(SourceError, match=problem):
        treasury.parse_debt_to_penny(body)


def test_net_issuance_bills_apart_from_coupons_marketable_only() -> None:
    """Month-end 2025-10-31: bills +$13.989B, coupons (notes) +$51.785B; GAS and subtotals ignored."""
    got = treasury.parse_public_debt_transactions(load("treasury/public_debt_transactions_2025-10-31.json"))
    assert got == [
        Observation("net_bills", "2025-10-31", 13.989, "treasury"),
        Observation("net_coupons", "2025-10-31", 51.785, "treasury"),
    ]


def test_net_issuance_rejects_unknown_direction_and_huge_days() -> None:
    body = load("treasury/public_debt_transactions_2025-10-31.json")
    odd = copy.deepcopy(body)
    odd["data"][0]["transaction_type"] = "Buybacks"
    with pytest.raises(SourceError, match="unexpected transaction_type"):
        treasury.parse_public_debt_transactions(odd)
    huge = copy.deepcopy(body)
    huge["data"][0]["transaction_today_amt"] = "5000000"  # $5T of bills in a day
    with pytest.raises(SourceError, match="implausible net net_bills"):
        treasury.parse_public_debt_transactions(huge)


def test_auctions_results_shares_and_rates() -> None:
    auctions = treasury.parse_auctions(load("treasury/auctions_query_2026-02.json"))
    assert [(a.auction_date, a.security_term) for a in auctions] == [
        ("2026-02-10", "4-Week"),
        ("2026-02-11", "10-Year"),
        ("2026-02-19", "13-Week"),
    ]
    bill, note, announced = auctions
    assert note.bid_to_cover == 2.51 and note.rate == 4.211 and note.offering_bn == 42.0
    assert (note.share("dealer"), note.share("direct"), note.share("indirect")) == (13.0, 17.0, 70.0)
    assert bill.rate == pytest.approx(3.70)  # the investment rate, not the discount rate
    assert bill.high_discount_rate == 3.63
    assert not announced.has_results and announced.share("dealer") is None and announced.rate is None


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("bid_to_cover_ratio", "250", "implausible value"),
        ("offering_amt", "42", "implausible value"),  # billions where dollars are expected
        ("primary_dealer_accepted", "90000000000", "bidder awards"),
        ("auction_date", "null", "malformed auction_date"),
        ("security_term", "null", "security_type and security_term are required"),
    ],
)
def test_auctions_refuse_bad_rows(field: str, value: str, problem: str) -> None:
    body = load("treasury/auctions_query_2026-02.json")
    body["data"][1][field] = value
    with pytest.raises(SourceError, match=problem):
        treasury.parse_auctions(body)


def test_upcoming_auctions_have_no_results() -> None:
    upcoming = treasury.parse_upcoming(load("treasury/upcoming_auctions_2026-02-17.json"))
    assert [(a.auction_date, a.security_term, a.offering_bn, a.reopening) for a in upcoming] == [
        ("2026-02-19", "13-Week", 86.0, True),
        ("2026-02-24", "2-Year", None, False),
    ]


def test_bgcr_tgcr_and_the_dvp_proxy_of_2026_02_05() -> None:
    """SOFR $3,228B - BGCR $1,318B = $1,910B of DVP repo, the relative-value funds' segment."""
    body = load("nyfed/gc_rates_2026-02-05.json")
    bgcr = nyfed.parse_rates(body, "bgcr")
    tgcr = nyfed.parse_rates(body, "tgcr")
    assert [(o.series, o.value) for o in bgcr] == [("bgcr", 3.63), ("bgcr_volume", 1318.0)]
    assert [(o.series, o.value) for o in tgcr] == [("tgcr", 3.63), ("tgcr_volume", 1290.0)]
    sofr = [o for o in nyfed.parse_rates(body, "sofr") if o.series == "sofr_volume"]
    dvp = dvp_proxy([Point(o.date, o.value) for o in sofr], [Point("2026-02-05", 1318.0)])
    assert dvp == [Observation("dvp_volume", "2026-02-05", 1910.0, "derived")]


def test_bgcr_implausible_volume_refused() -> None:
    body = load("nyfed/gc_rates_2026-02-05.json")
    body["refRates"][1]["volumeInBillions"] = 1318000000000  # dollars, not billions
    with pytest.raises(SourceError, match="implausible value"):
        nyfed.parse_rates(body, "bgcr")


def _transport(failing: str | None) -> httpx.MockTransport:
    bodies = {
        treasury.DEBT_PATH: load("treasury/debt_to_penny_2026-03-05_2026-03-06.json"),
        treasury.TRANSACTIONS_PATH: load("treasury/public_debt_transactions_2025-10-31.json"),
        treasury.AUCTIONS_PATH: load("treasury/auctions_query_2026-02.json"),
        treasury.UPCOMING_PATH: load("treasury/upcoming_auctions_2026-02-17.json"),
    }

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/services/api/fiscal_service")
        if failing is not None and path == failing:
            return httpx.Response(200, json={"error": "Invalid query parameters"})
        return httpx.Response(200, json=bodies[path])

    return httpx.MockTransport(handle)


async def _fetch(failing: str | None) -> Any:
    async with httpx.AsyncClient(transport=_transport(failing)) as client:
        return await treasury.fetch(client, BASE_URL, date(2025, 10, 1), date(2026, 3, 7))


async def test_fetch_all_four_endpoints() -> None:
    batch = await _fetch(None)
    assert batch.errors == []
    assert {o.series for o in batch.observations} == {
        "public_debt",
        "debt_held_public",
        "net_bills",
        "net_coupons",
    }
    assert len(batch.auctions) == 5  # 3 from auctions_query, 2 announced


async def test_one_endpoint_down_leaves_the_others_stored() -> None:
    batch = await _fetch(treasury.AUCTIONS_PATH)
    assert batch.errors == ["auctions_query: API error: Invalid query parameters"]
    assert {o.series for o in batch.observations} >= {"public_debt", "net_bills"}
    assert [a.security_term for a in batch.auctions] == ["13-Week", "2-Year"]


class Paged:
    """debt_to_penny in `pages` pages of one row each (later pages answer first); the other three
    endpoints empty. Records the requests and how many were in flight at once."""

    def __init__(self, pages: int, failing_page: int | None = None) -> None:
        self.pages = pages
        self.failing_page = failing_page
        self.now = self.most = self.debt_now = self.debt_most = 0
        self.seen: list[httpx.URL] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.url)
        path = request.url.path.removeprefix("/services/api/fiscal_service")
        self.now += 1
        self.most = max(self.most, self.now)
        if path == treasury.DEBT_PATH:
            self.debt_now += 1
            self.debt_most = max(self.debt_most, self.debt_now)
        try:
            if path != treasury.DEBT_PATH:
                return httpx.Response(200, json={"data": [], "meta": {"total-pages": 0}})
            number = int(request.url.params["page[number]"])
            await asyncio.sleep(0.002 * (self.pages - number))
            if number == self.failing_page:
                return httpx.Response(404, json={"error": "Not Found", "message": "no such page"})
            day = f"2026-03-{number + 1:02d}"
            row = {"record_date": day, "tot_pub_debt_out_amt": "38000000000000.00"}
            row["debt_held_public_amt"] = "null"
            return httpx.Response(200, json={"data": [row], "meta": {"total-pages": self.pages}})
        finally:
            self.now -= 1
            self.debt_now -= path == treasury.DEBT_PATH


async def test_pages_after_the_first_are_fetched_in_parallel_within_the_limit() -> None:
    handler = Paged(pages=9)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        batch = await treasury.fetch(client, BASE_URL, date(2026, 3, 1), date(2026, 3, 31))
    assert batch.errors == []
    # Every page's row, whatever order the pages answered in.
    assert [o.date for o in batch.observations] == [f"2026-03-{n + 1:02d}" for n in range(1, 10)]
    debt = [url for url in handler.seen if url.path.endswith(treasury.DEBT_PATH)]
    assert sorted(int(url.params["page[number]"]) for url in debt) == list(range(1, 10))
    # Pages 2-9 four at a time, never more than four requests of the source at once.
    assert handler.debt_most == handler.most == treasury.CONCURRENCY == 4
    # Only the columns the parser reads are asked for.
    assert {url.params["fields"] for url in debt} == {"record_date,tot_pub_debt_out_amt,debt_held_public_amt"}


async def test_a_failing_page_fails_its_endpoint_alone() -> None:
    handler = Paged(pages=5, failing_page=3)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        batch = await treasury.fetch(client, BASE_URL, date(2026, 3, 1), date(2026, 3, 31))
    assert batch.errors == ["debt_to_penny: HTTP 404 (no such page)"]
    assert [o for o in batch.observations if o.series == "public_debt"] == []


async def test_the_daily_tables_ask_only_for_the_columns_they_read() -> None:
    seen: list[httpx.URL] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"data": [], "meta": {"total-pages": 0}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
        await treasury.fetch(client, BASE_URL, date(2026, 3, 1), date(2026, 3, 31))
    fields = {url.path.rsplit("/", 1)[-1]: url.params.get("fields") for url in seen}
    assert fields == {
        "debt_to_penny": "record_date,tot_pub_debt_out_amt,debt_held_public_amt",
        "public_debt_transactions": "record_date,transaction_type,security_market,security_type,"
        "transaction_today_amt",
        "auctions_query": None,
        "upcoming_auctions": None,
    }
