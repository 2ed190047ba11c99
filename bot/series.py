"""The series catalog: canonical ids, units, sources and how often each is published."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    id: str
    name: str
    unit: str  # "%" or "$bn"
    source: str
    # Calendar days after which the latest value is overdue (covers weekends and holidays).
    stale_after_days: int
    # False where a value legitimately changes after first publication (an intraday sum, a derived
    # series), so a change there is an update and not a revision of a published figure.
    tracks_revisions: bool = True


_DAILY = 4  # a Friday value is still fresh on Tuesday morning after a Monday holiday
_WEEKLY = 9

CATALOG: dict[str, SeriesInfo] = {
    s.id: s
    for s in (
        SeriesInfo("sofr", "SOFR", "%", "nyfed", _DAILY),
        SeriesInfo("sofr_p1", "SOFR 1st percentile", "%", "nyfed", _DAILY),
        SeriesInfo("sofr_p25", "SOFR 25th percentile", "%", "nyfed", _DAILY),
        SeriesInfo("sofr_p75", "SOFR 75th percentile", "%", "nyfed", _DAILY),
        SeriesInfo("sofr_p99", "SOFR 99th percentile", "%", "nyfed", _DAILY),
        SeriesInfo("sofr_volume", "SOFR volume", "$bn", "nyfed", _DAILY),
        SeriesInfo("effr", "EFFR", "%", "nyfed", _DAILY),
        SeriesInfo("effr_volume", "EFFR volume", "$bn", "nyfed", _DAILY),
        SeriesInfo("fed_upper", "Target range upper bound", "%", "fred", _WEEKLY),
        SeriesInfo("fed_lower", "Target range lower bound", "%", "fred", _WEEKLY),
        SeriesInfo("iorb", "IORB", "%", "fred", _WEEKLY),
        SeriesInfo("srf", "SRF take-up", "$bn", "nyfed", _DAILY, tracks_revisions=False),
        SeriesInfo("srf_rate", "SRF minimum bid rate (ceiling)", "%", "nyfed", _DAILY),
        SeriesInfo("rrp", "ON RRP take-up", "$bn", "nyfed", _DAILY),
        SeriesInfo("rrp_rate", "ON RRP award rate (floor)", "%", "nyfed", _DAILY),
        SeriesInfo("tga", "TGA closing balance", "$bn", "fiscaldata", _DAILY),
        SeriesInfo("reserves", "Reserve balances", "$bn", "fred", _WEEKLY),
        SeriesInfo("fed_assets", "Fed total assets", "$bn", "fred", _WEEKLY),
        SeriesInfo("net_liquidity", "Net liquidity", "$bn", "derived", _DAILY, tracks_revisions=False),
    )
}

# Inputs of net liquidity = fed_assets - tga - rrp.
NET_LIQUIDITY_INPUTS: tuple[str, str, str] = ("fed_assets", "tga", "rrp")

UNTRACKED_SERIES: frozenset[str] = frozenset(s.id for s in CATALOG.values() if not s.tracks_revisions)
