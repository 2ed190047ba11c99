"""Treasury Fiscal Data beyond the TGA: the debt, net marketable issuance and auctions.

Four endpoints, each parsed by a pure parse_* apart from the fetch; one failing endpoint is reported on the
batch while the others are still stored. Values are strings and "null" marks a missing value.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Mapping
from datetime import date, timedelta
from operator import attrgetter

import httpx

from bot.core.clock import is_iso_date
from bot.core.models import Auction, Observation, SourceBatch, SourceError
from bot.core.offload import off_loop
from bot.sources.fiscaldata import every_page
from bot.sources.http import get_parsed

SOURCE = "treasury"

DEBT_PATH = "/v2/accounting/od/debt_to_penny"
TRANSACTIONS_PATH = "/v1/accounting/dts/public_debt_transactions"
AUCTIONS_PATH = "/v1/accounting/od/auctions_query"
UPCOMING_PATH = "/v1/accounting/od/upcoming_auctions"
DEBT_FIELDS = ("record_date", "tot_pub_debt_out_amt", "debt_held_public_amt")
TRANSACTION_FIELDS = (
    "record_date",
    "transaction_type",
    "security_market",
    "security_type",
    "transaction_today_amt",
)

# DTS security types that are coupons (everything marketable that is not a bill and not a subtotal).
BILLS = "Bills"
_NULLS = ("", "null")
_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")
_MAX_PAGES = 20
_PAGE_SIZE = 10000
_BY_DATE = attrgetter("date", "series")
# Requests in flight at once across the four endpoints and their pages; Fiscal Data publishes no limit.
CONCURRENCY = 4

# Plausibility before storing: outside these a value is a broken feed, not news.
PUBLIC_DEBT_BN = (5_000.0, 200_000.0)  # $5T..$200T
DAILY_NET_ISSUANCE_BN = 2_000.0  # no day ever moved $2T of marketable debt
OFFERING_BN = (0.1, 1_000.0)
BID_TO_COVER = (0.5, 20.0)
YIELD_PCT = (-5.0, 30.0)


def _fail(problem: str) -> SourceError:
    return SourceError(SOURCE, problem)


def _rows(payload: object, what: str) -> list[Mapping[str, object]]:
    if not isinstance(payload, dict):
        raise _fail(f"{what}: changed schema: expected a JSON object, got {type(payload).__name__}")
    data = payload.get("data")
    if not isinstance(data, list):
        error = payload.get("error") or payload.get("message")
        if isinstance(error, str):
            raise _fail(f"{what}: API error: {error[:200]}")
        raise _fail(f"{what}: changed schema: no 'data' list in the response")
    rows: list[Mapping[str, object]] = []
    for index, row in enumerate(data):
        if not isinstance(row, dict):
            raise _fail(f"{what}: changed schema: data[{index}] is {type(row).__name__}")
        rows.append(row)
    return rows


def _date(row: Mapping[str, object], field: str, where: str, *, required: bool = True) -> str | None:
    raw = row.get(field)
    if not required and (raw is None or raw in _NULLS):
        return None
    if isinstance(raw, str) and is_iso_date(raw):
        return raw
    raise _fail(f"{where}: malformed {field} {str(raw)[:40]!r}")


def _text(row: Mapping[str, object], field: str, where: str) -> str:
    raw = row.get(field)
    if raw is None or raw == "null":
        return ""
    if not isinstance(raw, str):
        raise _fail(f"{where}: {field} is {type(raw).__name__}, expected a string")
    return raw.strip()


def _amount(row: Mapping[str, object], field: str, where: str) -> float | None:
    """A number sent as a string; None when the API marks it missing."""
    raw = row.get(field)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _fail(f"{where}: {field} is {type(raw).__name__}, expected a string")
    text = raw.strip()
    if text in _NULLS:
        return None
    if not _AMOUNT.fullmatch(text) or not math.isfinite(value := float(text)):
        raise _fail(f"{where}: non-numeric {field} {text[:40]!r}")
    return value


def _within(value: float, bounds: tuple[float, float], what: str) -> float:
    low, high = bounds
    if not low <= value <= high:
        raise _fail(f"{what}: implausible value {value:g} (expected {low:g}..{high:g})")
    return value


def _plain_amount(raw: object) -> float | None:
    """_amount's fast path: a plain numeric string as a finite float, else None (then _amount decides
    between missing and a problem, worded with where it was)."""
    if type(raw) is str and _AMOUNT.fullmatch(raw):
        value = float(raw)
        if math.isfinite(value):
            return value
    return None


def _plain_text(row: Mapping[str, object], field: str) -> str | None:
    """_text's fast path: a string field stripped ("" for "null"); None when _text must decide."""
    raw = row.get(field)
    if type(raw) is str:
        return "" if raw == "null" else raw.strip()
    return None


def parse_debt_to_penny(payload: object) -> list[Observation]:
    """Total public debt outstanding and debt held by the public per record date, dollars -> $bn."""
    out: list[Observation] = []
    seen: set[str] = set()
    # Decades of rows: each check inlined, each problem worded by the helpers only when there is one.
    for index, row in enumerate(_rows(payload, "debt_to_penny")):
        day = row.get("record_date")
        if not isinstance(day, str) or not is_iso_date(day):
            day = _date(row, "record_date", f"debt_to_penny data[{index}]")  # raises
            assert day is not None
        if day in seen:
            raise _fail(f"debt_to_penny {day}: two rows for one date")
        seen.add(day)
        total = _plain_amount(row.get("tot_pub_debt_out_amt"))
        if total is None:
            total = _amount(row, "tot_pub_debt_out_amt", f"debt_to_penny {day}")
        public = _plain_amount(row.get("debt_held_public_amt"))
        if public is None:
            public = _amount(row, "debt_held_public_amt", f"debt_to_penny {day}")
        if total is None:
            continue
        total_bn = total / 1e9
        if not PUBLIC_DEBT_BN[0] <= total_bn <= PUBLIC_DEBT_BN[1]:
            _within(total_bn, PUBLIC_DEBT_BN, f"debt_to_penny {day}: tot_pub_debt_out_amt")
        out.append(Observation("public_debt", day, round(total_bn, 3), SOURCE))
        if public is not None:
            if not 0 < public <= total:
                raise _fail(f"debt_to_penny {day}: debt held by the public {public:g} exceeds the total")
            out.append(Observation("debt_held_public", day, round(public / 1e9, 3), SOURCE))
    return sorted(out, key=_BY_DATE)


def parse_public_debt_transactions(payload: object) -> list[Observation]:
    """Net marketable issuance (issues - redemptions, today's column) per day, bills apart from coupons."""
    bills: dict[str, float] = {}
    coupons: dict[str, float] = {}
    rows = _rows(payload, "public_debt_transactions")
    # Decades of rows: each check inlined, each problem worded by the helpers only when there is one.
    for index, row in enumerate(rows):
        day = row.get("record_date")
        if not isinstance(day, str) or not is_iso_date(day):
            day = _date(row, "record_date", f"public_debt_transactions data[{index}]")  # raises
            assert day is not None
        market = _plain_text(row, "security_market")
        if market is None:
            market = _text(row, "security_market", f"public_debt_transactions data[{index}]")
        if market != "Marketable":
            continue
        kind = _plain_text(row, "security_type")
        if kind is None:
            kind = _text(row, "security_type", f"public_debt_transactions data[{index}]")
        if not kind or "total" in kind.lower():
            continue  # subtotal rows would count everything twice
        direction = _plain_text(row, "transaction_type")
        if direction is None:
            direction = _text(row, "transaction_type", f"public_debt_transactions data[{index}]")
        if direction not in ("Issues", "Redemptions"):
            where = f"public_debt_transactions data[{index}]"
            raise _fail(f"{where}: unexpected transaction_type {direction[:40]!r}")
        amount = _plain_amount(row.get("transaction_today_amt"))
        if amount is None:
            amount = _amount(row, "transaction_today_amt", f"public_debt_transactions {day} {kind}")
            if amount is None:
                continue
        signed = (amount if direction == "Issues" else -amount) / 1000  # $mn -> $bn
        target = bills if kind == BILLS else coupons
        target[day] = target.get(day, 0.0) + signed
    out: list[Observation] = []
    for series, totals in (("net_bills", bills), ("net_coupons", coupons)):
        for day, value in totals.items():
            if abs(value) > DAILY_NET_ISSUANCE_BN:
                raise _fail(f"public_debt_transactions {day}: implausible net {series} {value:g}B")
            out.append(Observation(series, day, round(value, 3), SOURCE))
    if rows and not out and any(_text(r, "security_market", "") == "Marketable" for r in rows):
        raise _fail("public_debt_transactions: no marketable Bills, Notes or Bonds rows")
    return sorted(out, key=_BY_DATE)


def _auction(row: Mapping[str, object], where: str, *, announced_only: bool) -> Auction:
    auction_date = _date(row, "auction_date", where)
    assert auction_date is not None
    security_type = _text(row, "security_type", where)
    term = _text(row, "security_term", where)
    if not security_type or not term:
        raise _fail(f"{where}: security_type and security_term are required")
    here = f"auction {auction_date} {term} {security_type}"
    offering = _amount(row, "offering_amt", here)
    if offering is not None:
        offering = _within(offering / 1e9, OFFERING_BN, f"{here}: offering_amt")

    def bn(field: str) -> float | None:
        value = None if announced_only else _amount(row, field, here)
        if value is not None and value < 0:
            raise _fail(f"{here}: negative {field}")
        return None if value is None else round(value / 1e9, 6)

    def ratio(field: str, bounds: tuple[float, float]) -> float | None:
        value = None if announced_only else _amount(row, field, here)
        return None if value is None else _within(value, bounds, f"{here}: {field}")

    auction = Auction(
        auction_date=auction_date,
        security_type=security_type,
        security_term=term,
        cusip=_text(row, "cusip", where),
        reopening=_text(row, "reopening", where) == "Yes",
        announced_date=_date(row, "announcemt_date", where, required=False),
        issue_date=_date(row, "issue_date", where, required=False),
        maturity_date=None if announced_only else _date(row, "maturity_date", where, required=False),
        offering_bn=None if offering is None else round(offering, 6),
        total_tendered_bn=bn("total_tendered"),
        total_accepted_bn=bn("total_accepted"),
        dealer_bn=bn("primary_dealer_accepted"),
        direct_bn=bn("direct_bidder_accepted"),
        indirect_bn=bn("indirect_bidder_accepted"),
        soma_bn=bn("soma_accepted"),
        bid_to_cover=ratio("bid_to_cover_ratio", BID_TO_COVER),
        high_yield=ratio("high_yield", YIELD_PCT),
        high_discount_rate=ratio("high_discnt_rate", YIELD_PCT),
        high_investment_rate=ratio("high_investment_rate", YIELD_PCT),
    )
    shares = [auction.dealer_bn, auction.direct_bn, auction.indirect_bn]
    accepted = auction.total_accepted_bn
    if accepted is not None and all(s is not None for s in shares):
        bidders = sum(s for s in shares if s is not None)
        if bidders > accepted * 1.001 + 0.001:
            raise _fail(f"{here}: bidder awards {bidders:g}B exceed the {accepted:g}B accepted")
    return auction


def parse_auctions(payload: object) -> list[Auction]:
    """Auction rows (announced or with results) from auctions_query, oldest first."""
    rows = _rows(payload, "auctions_query")
    found = [_auction(row, f"auctions_query data[{i}]", announced_only=False) for i, row in enumerate(rows)]
    return sorted(found, key=lambda a: (a.auction_date, a.security_type, a.security_term))


def parse_upcoming(payload: object) -> list[Auction]:
    """Announced auctions from upcoming_auctions (no results by definition), oldest first."""
    rows = _rows(payload, "upcoming_auctions")
    found = [_auction(row, f"upcoming_auctions data[{i}]", announced_only=True) for i, row in enumerate(rows)]
    return sorted(found, key=lambda a: (a.auction_date, a.security_type, a.security_term))


def _as_is(payload: object) -> object:
    return payload


async def _all_rows(
    client: httpx.AsyncClient, base_url: str, path: str, params: dict[str, str], gate: asyncio.Semaphore
) -> dict[str, object]:
    """Every page of one endpoint as one {"data": [...]} body; after the first page has told how many
    there are, the rest are fetched in parallel (within the source's one budget, `gate`)."""
    url = f"{base_url.rstrip('/')}{path}"
    name = path.rsplit("/", 1)[-1]

    async def page(number: int) -> tuple[list[Mapping[str, object]], object]:
        query = {**params, "page[size]": str(_PAGE_SIZE), "page[number]": str(number)}
        # The gate is held for the request alone; the body is decoded on a worker thread after it.
        payload = await get_parsed(client, SOURCE, url, query, _as_is, gate=gate)
        return _rows(payload, name), payload

    rows = await every_page(SOURCE, page, what=f"{path}: ", page_size=_PAGE_SIZE, max_pages=_MAX_PAGES)
    return {"data": rows}


async def fetch(client: httpx.AsyncClient, base_url: str, start: date, end: date) -> SourceBatch:
    """The four endpoints concurrently; each failure is named on the batch and the rest is stored."""
    since = start.isoformat()
    gate = asyncio.Semaphore(CONCURRENCY)
    dated = {"filter": f"record_date:gte:{since}", "sort": "-record_date"}
    # Only the columns the parsers read: a backfill's daily tables shrink to a third or less.
    debt = {"fields": ",".join(DEBT_FIELDS), **dated}
    transactions = {"fields": ",".join(TRANSACTION_FIELDS), **dated}
    # Results are re-read a month back so late-filled result fields are caught.
    results_since = min(start, end - timedelta(days=400)).isoformat()
    parts = {
        "debt_to_penny": _all_rows(client, base_url, DEBT_PATH, debt, gate),
        "public_debt_transactions": _all_rows(client, base_url, TRANSACTIONS_PATH, transactions, gate),
        "auctions_query": _all_rows(
            client,
            base_url,
            AUCTIONS_PATH,
            {"filter": f"auction_date:gte:{results_since}", "sort": "-auction_date"},
            gate,
        ),
        "upcoming_auctions": _all_rows(client, base_url, UPCOMING_PATH, {"sort": "-record_date"}, gate),
    }
    bodies = await asyncio.gather(*parts.values(), return_exceptions=True)
    batch = SourceBatch(SOURCE)
    failures: list[SourceError] = []
    for name, body in zip(parts, bodies, strict=True):
        if isinstance(body, BaseException):
            if not isinstance(body, SourceError):
                raise body
            problem = body.problem if body.problem.startswith(name) else f"{name}: {body.problem}"
            failures.append(SourceError(SOURCE, problem, transient=body.transient))
            continue
        try:
            # Decades of daily rows: parsed off the event loop.
            if name == "debt_to_penny":
                batch.observations.extend(await off_loop(parse_debt_to_penny, body))
            elif name == "public_debt_transactions":
                batch.observations.extend(await off_loop(parse_public_debt_transactions, body))
            elif name == "auctions_query":
                batch.auctions.extend(await off_loop(parse_auctions, body))
            else:
                batch.auctions.extend(await off_loop(parse_upcoming, body))
        except SourceError as exc:
            failures.append(exc)
    if failures and len(failures) == len(parts):
        problem = "; ".join(f.problem for f in failures)
        raise SourceError(SOURCE, problem, transient=all(f.transient for f in failures))
    batch.errors.extend(f.problem for f in failures)
    return batch
