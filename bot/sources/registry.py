"""The data sources the poller knows: what each one feeds and how to fetch a window of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.core.config import Settings
from bot.core.models import SourceBatch

if TYPE_CHECKING:
    import httpx

# The fetchers (and httpx) load on the first fetch: /status and the handlers read this table without them.
FetchWindow = Callable[["httpx.AsyncClient", Settings, date, date], Awaitable[SourceBatch]]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    name: str
    label: str
    series: tuple[str, ...]
    # How far back an incremental poll re-reads, so late revisions are caught.
    lookback_days: int
    # The first date the source has data; a full backfill starts no earlier.
    earliest: date
    fetch: FetchWindow
    # Once a week an incremental poll re-reads this far back, for revisions published weeks later.
    deep_lookback_days: int = 90


async def _fetch_nyfed(client: httpx.AsyncClient, settings: Settings, start: date, end: date) -> SourceBatch:
    from bot.sources import nyfed

    return await nyfed.fetch(client, settings.nyfed_base_url, start, end)


async def _fetch_fred(client: httpx.AsyncClient, settings: Settings, start: date, end: date) -> SourceBatch:
    from bot.sources import fred

    return await fred.fetch(
        client,
        csv_url=settings.fred_csv_url,
        api_url=settings.fred_api_url,
        api_key=settings.fred_api_key,
        start=start,
    )


async def _fetch_fiscaldata(
    client: httpx.AsyncClient, settings: Settings, start: date, end: date
) -> SourceBatch:
    from bot.sources import fiscaldata

    return await fiscaldata.fetch(client, settings.fiscaldata_base_url, start)


async def _fetch_treasury(
    client: httpx.AsyncClient, settings: Settings, start: date, end: date
) -> SourceBatch:
    from bot.sources import treasury

    return await treasury.fetch(client, settings.fiscaldata_base_url, start, end)


SOURCES: dict[str, SourceSpec] = {
    s.name: s
    for s in (
        SourceSpec(
            "nyfed",
            "NY Fed Markets API",
            ("sofr", "effr", "srf", "rrp", "bgcr", "tgcr"),
            lookback_days=10,
            earliest=date(2000, 1, 1),
            fetch=_fetch_nyfed,
        ),
        SourceSpec(
            "fred",
            "FRED",
            ("iorb", "fed_upper", "fed_lower", "reserves", "fed_assets", "custody", "bank_treasuries"),
            lookback_days=28,
            earliest=date(2000, 1, 1),
            fetch=_fetch_fred,
        ),
        SourceSpec(
            "fiscaldata",
            "Treasury Fiscal Data (DTS)",
            ("tga",),
            lookback_days=10,
            earliest=date(2005, 10, 1),
            fetch=_fetch_fiscaldata,
        ),
        SourceSpec(
            "treasury",
            "Treasury Fiscal Data (debt, issuance, auctions)",
            ("public_debt", "net_bills", "net_coupons"),
            lookback_days=10,
            earliest=date(2005, 10, 1),
            fetch=_fetch_treasury,
        ),
    )
}

SOURCE_OF_SERIES: dict[str, str] = {series: spec.name for spec in SOURCES.values() for series in spec.series}
