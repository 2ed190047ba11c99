"""The series catalog: canonical ids, units, sources, plausible ranges; release times live in
bot/sources/schedule.py (RELEASES)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.models import Operation


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    id: str
    name: str
    short: str  # fits a phone-width table
    unit: str  # "%" or "$bn"
    source: str
    # False where a value legitimately changes after first publication (an intraday sum, a derived
    # series), so a change there is an update and not a revision of a published figure.
    tracks_revisions: bool = True
    # Plausible values in canonical units: anything outside rejects the whole fetch (bot/sources/validate.py).
    low: float = -1.0
    high: float = 25.0
    # The first date the series exists; an earlier date in a payload is corrupt.
    began: str = "2000-01-01"


# Amounts in $bn: never negative; the cap is far above any record (Fed assets peaked near $9,000bn).
_AMOUNT_CAP = 25_000.0

CATALOG: dict[str, SeriesInfo] = {
    s.id: s
    for s in (
        SeriesInfo("sofr", "SOFR", "SOFR", "%", "nyfed", began="2018-04-02"),
        SeriesInfo("sofr_p1", "SOFR 1st percentile", "SOFR p1", "%", "nyfed", began="2018-04-02"),
        SeriesInfo("sofr_p25", "SOFR 25th percentile", "SOFR p25", "%", "nyfed", began="2018-04-02"),
        SeriesInfo("sofr_p75", "SOFR 75th percentile", "SOFR p75", "%", "nyfed", began="2018-04-02"),
        SeriesInfo("sofr_p99", "SOFR 99th percentile", "SOFR p99", "%", "nyfed", began="2018-04-02"),
        SeriesInfo(
            "sofr_volume",
            "SOFR volume",
            "SOFR volume",
            "$bn",
            "nyfed",
            low=0.0,
            high=_AMOUNT_CAP,
            began="2018-04-02",
        ),
        SeriesInfo("effr", "EFFR", "EFFR", "%", "nyfed", began="2000-07-03"),
        SeriesInfo(
            "effr_volume",
            "EFFR volume",
            "EFFR volume",
            "$bn",
            "nyfed",
            low=0.0,
            high=_AMOUNT_CAP,
            began="2016-03-01",
        ),
        SeriesInfo("fed_upper", "Target range upper bound", "Range top", "%", "fred"),
        SeriesInfo("fed_lower", "Target range lower bound", "Range bottom", "%", "fred"),
        SeriesInfo("iorb", "IORB", "IORB", "%", "fred", began="2021-07-29"),
        SeriesInfo(
            "srf",
            "SRF take-up",
            "SRF take-up",
            "$bn",
            "nyfed",
            tracks_revisions=False,
            low=0.0,
            high=_AMOUNT_CAP,
            began="2021-07-29",
        ),
        SeriesInfo(
            "srf_rate", "SRF minimum bid rate (ceiling)", "SRF rate", "%", "nyfed", began="2021-07-29"
        ),
        SeriesInfo("rrp", "ON RRP take-up", "ON RRP", "$bn", "nyfed", low=0.0, high=_AMOUNT_CAP),
        SeriesInfo("rrp_rate", "ON RRP award rate (floor)", "ON RRP rate", "%", "nyfed"),
        SeriesInfo(
            "tga",
            "TGA closing balance",
            "TGA",
            "$bn",
            "fiscaldata",
            low=0.0,
            high=_AMOUNT_CAP,
            began="2005-10-03",
        ),
        SeriesInfo(
            "reserves",
            "Reserve balances",
            "Reserves",
            "$bn",
            "fred",
            low=0.0,
            high=_AMOUNT_CAP,
            began="1984-01-01",
        ),
        SeriesInfo(
            "fed_assets",
            "Fed total assets",
            "Fed assets",
            "$bn",
            "fred",
            low=0.0,
            high=_AMOUNT_CAP,
            began="2002-12-18",
        ),
        SeriesInfo(
            "net_liquidity",
            "Net liquidity",
            "Net liquidity",
            "$bn",
            "derived",
            tracks_revisions=False,
            low=-25_000.0,
            high=25_000.0,
        ),
    )
}

# The Standing Repo Facility's first operation; overnight repos before it (2000-2008, 2019-2020) were
# temporary open market operations, not SRF take-up.
SRF_START = "2021-07-29"


def is_srf(op: Operation) -> bool:
    """SRF take-up: an overnight Repo since the SRF began, never a Small Value Exercise.

    Identified by type, term and date, never by method: it became Full Allotment on 2025-12-11.
    """
    return (
        op.operation_type == "Repo"
        and op.term.strip().lower() == "overnight"
        and op.operation_date >= SRF_START
        and not op.is_sve
    )


# Inputs of net liquidity = fed_assets - tga - rrp.
NET_LIQUIDITY_INPUTS: tuple[str, str, str] = ("fed_assets", "tga", "rrp")

UNTRACKED_SERIES: frozenset[str] = frozenset(s.id for s in CATALOG.values() if not s.tracks_revisions)
