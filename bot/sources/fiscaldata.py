"""Treasury Fiscal Data: the TGA closing balance from the Daily Treasury Statement, Table I."""

from __future__ import annotations

import asyncio
import itertools
import math
import re
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

import httpx

from bot.core.clock import is_iso_date
from bot.core.models import Observation, SourceBatch, SourceError
from bot.core.offload import off_loop
from bot.sources.http import get_parsed

SOURCE = "fiscaldata"
ENDPOINT = "/v1/accounting/dts/operating_cash_balance"

# Since 2022-04-18: four rows a day; the close sits in the closing row's open_today_bal.
CLOSING_ROW = "Treasury General Account (TGA) Closing Balance"
OPENING_ROW = "Treasury General Account (TGA) Opening Balance"
# Before: one row a day for the account ("Federal Reserve Account" to 2021-09-30), close in close_today_bal.
SINGLE_ROW_ACCOUNTS = ("Federal Reserve Account", "Treasury General Account (TGA)")

_ACCOUNT_ROWS = frozenset({CLOSING_ROW, OPENING_ROW, *SINGLE_ROW_ACCOUNTS})
_BALANCE_FIELDS = ("open_today_bal", "close_today_bal")
# The only columns the parser reads, of the sixteen a row has: a backfill's pages shrink to a quarter.
FIELDS = ("record_date", "account_type", *_BALANCE_FIELDS)
_NULLS = ("", "null")
_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")
_MAX_PAGES = 100
# Pages in flight at once during a backfill; Fiscal Data publishes no request limit, so stay modest.
CONCURRENCY = 4


def _data_rows(payload: object) -> list[object]:
    if not isinstance(payload, dict):
        raise SourceError(SOURCE, f"changed schema: expected a JSON object, got {type(payload).__name__}")
    data = payload.get("data")
    if isinstance(data, list):
        return data
    error = payload.get("error") or payload.get("message")
    if isinstance(error, str):
        raise SourceError(SOURCE, f"API error: {error[:200]}")
    raise SourceError(SOURCE, "changed schema: no 'data' list in the response")


def _record_date(row: dict[str, object], index: int) -> str:
    day = row.get("record_date")
    if isinstance(day, str) and is_iso_date(day):
        return day
    raise SourceError(SOURCE, f"data[{index}]: malformed record_date {str(day)[:40]!r}")


def _amount(row: dict[str, object], field: str, day: str) -> float | None:
    """A $mn amount as float; None when the API marks it missing ("null", empty or absent)."""
    raw = row.get(field)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise SourceError(SOURCE, f"{day}: {field} is {type(raw).__name__}, expected a string")
    text = raw.strip()
    if text in _NULLS:
        return None
    if not _AMOUNT.fullmatch(text) or not math.isfinite(value := float(text)):
        raise SourceError(SOURCE, f"{day}: non-numeric {field} {text[:40]!r} ({row.get('account_type')})")
    return value


def _keep(balances: dict[str, float], day: str, value: float, what: str) -> None:
    if balances.setdefault(day, value) != value:
        raise SourceError(SOURCE, f"{day}: conflicting TGA {what} balances {balances[day]:g} and {value:g}")


def parse_operating_cash_balance(payload: object) -> list[Observation]:
    """Read each day's TGA closing balance ($mn -> $bn) from an operating_cash_balance body, oldest first."""
    rows = _data_rows(payload)
    closes: dict[str, float] = {}
    opens: dict[str, float] = {}
    unclosed: set[str] = set()
    record_dates: set[str] = set()
    for index, item in enumerate(rows):
        if not isinstance(item, dict):
            raise SourceError(SOURCE, f"changed schema: data[{index}] is {type(item).__name__}")
        row: dict[str, object] = item
        day = _record_date(row, index)
        record_dates.add(day)
        account = row.get("account_type")
        if not isinstance(account, str):
            raise SourceError(SOURCE, f"{day}: account_type is {type(account).__name__}, expected a string")
        if account in _ACCOUNT_ROWS and not any(f in row for f in _BALANCE_FIELDS):
            # Renamed amount fields must fail the fetch, never read as "no balance, 0 rows, ok".
            raise SourceError(SOURCE, f"changed schema: {day}: the {account} row has no balance fields")
        if account == CLOSING_ROW:
            close = _amount(row, "open_today_bal", day)
            if close is None:
                close = _amount(row, "close_today_bal", day)
        elif account in SINGLE_ROW_ACCOUNTS:
            close = _amount(row, "close_today_bal", day)
            if (opening := _amount(row, "open_today_bal", day)) is not None:
                _keep(opens, day, opening, "opening")
        elif account == OPENING_ROW:
            if (opening := _amount(row, "open_today_bal", day)) is not None:
                _keep(opens, day, opening, "opening")
            continue
        else:
            continue
        if close is None:
            unclosed.add(day)
        else:
            _keep(closes, day, close, "closing")
    if rows and not opens and not closes and not unclosed:
        raise SourceError(SOURCE, f"changed schema: none of {len(rows)} rows is a TGA account row")
    # A day without a close (a "null" in the older eras) closed at the next record date's opening balance.
    ordered = sorted(record_dates)
    for day, next_day in itertools.pairwise(ordered):
        if day in unclosed and day not in closes and next_day in opens:
            closes[day] = opens[next_day]
    return [Observation("tga", day, round(closes[day] / 1000, 6), SOURCE) for day in sorted(closes)]


def _as_is(payload: object) -> object:
    return payload


def total_pages(payload: object, source: str = SOURCE) -> int:
    """The page count from meta["total-pages"]; 1 when the body does not say."""
    meta = payload.get("meta") if isinstance(payload, dict) else None
    if not isinstance(meta, dict) or "total-pages" not in meta:
        return 1
    pages = meta["total-pages"]
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 0:
        raise SourceError(source, f"changed schema: meta total-pages is {str(pages)[:40]!r}")
    return pages


Page = tuple[list[Any], object]  # a page's rows and its whole body


async def every_page(
    source: str,
    page: Callable[[int], Coroutine[Any, Any, Page]],
    *,
    what: str,
    page_size: int,
    max_pages: int,
) -> list[Any]:
    """Every row of a paged Fiscal Data endpoint (DTS and the Treasury tables alike): the first page says
    how many there are, the rest are fetched in parallel (`page` holds the source's request budget), in
    page order; nothing after an empty page is kept. The first failing page fails the whole endpoint."""
    chunk, first = await page(1)
    rows: list[Any] = list(chunk)
    pages = total_pages(first, source)
    if pages > max_pages:
        raise SourceError(source, f"{what}{pages} pages of {page_size} rows is more than expected")
    if rows and pages > 1:
        try:
            async with asyncio.TaskGroup() as group:
                later = [group.create_task(page(number)) for number in range(2, pages + 1)]
        except* SourceError as failed:
            raise failed.exceptions[0] from None
        for task in later:
            chunk = task.result()[0]
            if not chunk:
                break
            rows.extend(chunk)
    return rows


async def fetch(client: httpx.AsyncClient, base_url: str, start: date, page_size: int = 10000) -> SourceBatch:
    """Fetch every page of the operating cash balance since start and read the TGA closes from it."""
    url = f"{base_url.rstrip('/')}{ENDPOINT}"
    since = start.isoformat()

    async def page_rows(number: int, gate: asyncio.Semaphore | None = None) -> tuple[list[object], object]:
        params = {
            "fields": ",".join(FIELDS),
            "filter": f"record_date:gte:{since}",
            "sort": "-record_date",
            "page[size]": str(page_size),
            "page[number]": str(number),
        }
        # The gate is held for the request alone; the body is decoded on a worker thread after it.
        payload = await get_parsed(client, SOURCE, url, params, _as_is, gate=gate)
        return _data_rows(payload), payload

    # The page count is known from the first page: the rest are fetched in parallel, a few at a time.
    gate = asyncio.Semaphore(CONCURRENCY)
    rows = await every_page(
        SOURCE, lambda n: page_rows(n, gate), what="", page_size=page_size, max_pages=_MAX_PAGES
    )
    # Parsed as one body so that a day whose rows straddle a page break is still whole.
    observations = await off_loop(parse_operating_cash_balance, {"data": rows})  # off the loop
    return SourceBatch(SOURCE, [obs for obs in observations if obs.date >= since])
