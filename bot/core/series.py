"""The series catalog: canonical ids, units, sources and how often each is published."""

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
    # Calendar days after which the latest value is overdue, for a series without a release rule in
    # bot/sources/schedule.py (RELEASES); the release calendar decides for every other one.
    stale_after_days: int
    # False where a value legitimately changes after first publication (an intraday sum, a derived
    # series), so a change there is an update and not a revision of a published figure.
    tracks_revisions: bool = True
    # Plausible values in canonical units: anything outside rejects the whole fetch (bot/sources/validate.py).
    low: float = -1.0
    high: float = 25.0
    # The first date the series exists; an earlier date in a payload is corrupt.
    began: str = "2000-01-01"


_DAILY = 4  # a Friday value is still fresh on Tuesday morning after a Monday holiday
_WEEKLY = 9
# Amounts in $bn: never negative (net issuance aside); the cap is far above any level (debt ~$38,000bn).
_AMOUNT_CAP = 100_000.0

CATALOG: dict[str, SeriesInfo] = {
    s.id: s
    for s in (
        SeriesInfo("sofr", "SOFR", "SOFR", "%", "nyfed", _DAILY, began="2018-04-02"),
        SeriesInfo("sofr_p1", "SOFR 1st percentile", "SOFR p1", "%", "nyfed", _DAILY, began="2018-04-02"),
        SeriesInfo("sofr_p25", "SOFR 25th percentile", "SOFR p25", "%", "nyfed", _DAILY, began="2018-04-02"),
        SeriesInfo("sofr_p75", "SOFR 75th percentile", "SOFR p75", "%", "nyfed", _DAILY, began="2018-04-02"),
        SeriesInfo("sofr_p99", "SOFR 99th percentile", "SOFR p99", "%", "nyfed", _DAILY, began="2018-04-02"),
        SeriesInfo(
            "sofr_volume",
            "SOFR volume",
            "SOFR volume",
            "$bn",
            "nyfed",
            _DAILY,
            low=0.0,
            high=_AMOUNT_CAP,
            began="2018-04-02",
        ),
        SeriesInfo("effr", "EFFR", "EFFR", "%", "nyfed", _DAILY, began="2000-07-03"),
        SeriesInfo(
            "effr_volume",
            "EFFR volume",
            "EFFR volume",
            "$bn",
            "nyfed",
            _DAILY,
            low=0.0,
            high=_AMOUNT_CAP,
            began="2016-03-01",
        ),
        SeriesInfo("fed_upper", "Target range upper bound", "Range top", "%", "fred", _WEEKLY),
        SeriesInfo("fed_lower", "Target range lower bound", "Range bottom", "%", "fred", _WEEKLY),
        SeriesInfo("iorb", "IORB", "IORB", "%", "fred", _WEEKLY, began="2021-07-29"),
        SeriesInfo(
            "srf",
            "SRF take-up",
            "SRF take-up",
            "$bn",
            "nyfed",
            _DAILY,
            tracks_revisions=False,
            low=0.0,
            high=_AMOUNT_CAP,
            began="2021-07-29",
        ),
        SeriesInfo(
            "srf_rate", "SRF minimum bid rate (ceiling)", "SRF rate", "%", "nyfed", _DAILY, began="2021-07-29"
        ),
        SeriesInfo("rrp", "ON RRP take-up", "ON RRP", "$bn", "nyfed", _DAILY, low=0.0, high=_AMOUNT_CAP),
        SeriesInfo("rrp_rate", "ON RRP award rate (floor)", "ON RRP rate", "%", "nyfed", _DAILY),
        SeriesInfo(
            "tga",
            "TGA closing balance",
            "TGA",
            "$bn",
            "fiscaldata",
            _DAILY,
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
            _WEEKLY,
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
            _WEEKLY,
            low=0.0,
            high=_AMOUNT_CAP,
            began="2002-12-18",
        ),
        # Repo: the tri-party general collateral rates (BGCR, TGCR) and where relative-value funds borrow.
        # The NY Fed began publishing both with SOFR, for 2018-04-02.
        SeriesInfo("bgcr", "BGCR", "BGCR", "%", "nyfed", _DAILY, began="2018-04-02"),
        SeriesInfo(
            "bgcr_volume",
            "BGCR volume",
            "BGCR volume",
            "$bn",
            "nyfed",
            _DAILY,
            low=0.0,
            high=_AMOUNT_CAP,
            began="2018-04-02",
        ),
        SeriesInfo("tgcr", "TGCR", "TGCR", "%", "nyfed", _DAILY, began="2018-04-02"),
        SeriesInfo(
            "tgcr_volume",
            "TGCR volume",
            "TGCR volume",
            "$bn",
            "nyfed",
            _DAILY,
            low=0.0,
            high=_AMOUNT_CAP,
            began="2018-04-02",
        ),
        # SOFR = BGCR + filtered FICC DVP repo, so SOFR volume - BGCR volume approximates the DVP segment.
        SeriesInfo(
            "dvp_volume",
            "DVP repo (SOFR \u2212 BGCR volume)",
            "DVP proxy",
            "$bn",
            "derived",
            _DAILY,
            tracks_revisions=False,
            low=-_AMOUNT_CAP,
            high=_AMOUNT_CAP,
        ),
        # Buyers of Treasuries, weekly Wednesday levels.
        # FRED WMTSECL1: marketable Treasuries held in custody for foreign official and international
        # accounts (H.4.1, millions; WMTSECL was discontinued in 2012).
        SeriesInfo(
            "custody",
            "Foreign official custody holdings",
            "Fgn custody",
            "$bn",
            "fred",
            _WEEKLY,
            low=0.0,
            high=_AMOUNT_CAP,
        ),
        # FRED TASACBW027SBOG: H.8 "Treasury and agency securities, all commercial banks", weekly,
        # seasonally adjusted, billions (H.8 release table 2, line "Treasury and agency securities").
        SeriesInfo(
            "bank_treasuries",
            "Banks' Treasury and agency securities",
            "Bank Tsy+Agy",
            "$bn",
            "fred",
            _WEEKLY,
            low=0.0,
            high=_AMOUNT_CAP,
        ),
        # Issuance: Fiscal Data Debt to the Penny (dollars) and the DTS public debt transactions (millions).
        SeriesInfo(
            "public_debt",
            "Total public debt outstanding",
            "Public debt",
            "$bn",
            "treasury",
            _DAILY,
            low=0.0,
            high=_AMOUNT_CAP,
        ),
        SeriesInfo(
            "debt_held_public",
            "Debt held by the public",
            "Held by public",
            "$bn",
            "treasury",
            _DAILY,
            low=0.0,
            high=_AMOUNT_CAP,
        ),
        SeriesInfo(
            "net_bills",
            "Net marketable bill issuance",
            "Net bills",
            "$bn",
            "treasury",
            _DAILY,
            low=-_AMOUNT_CAP,
            high=_AMOUNT_CAP,
        ),
        SeriesInfo(
            "net_coupons",
            "Net marketable coupon issuance",
            "Net coupons",
            "$bn",
            "treasury",
            _DAILY,
            low=-_AMOUNT_CAP,
            high=_AMOUNT_CAP,
        ),
        SeriesInfo(
            "net_liquidity",
            "Net liquidity",
            "Net liquidity",
            "$bn",
            "derived",
            _DAILY,
            tracks_revisions=False,
            low=-_AMOUNT_CAP,
            high=_AMOUNT_CAP,
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

# The DVP proxy = sofr_volume - bgcr_volume, same date.
DVP_INPUTS: tuple[str, str] = ("sofr_volume", "bgcr_volume")

UNTRACKED_SERIES: frozenset[str] = frozenset(s.id for s in CATALOG.values() if not s.tracks_revisions)
