"""The chain the "hidden QE" argument walks, read once: issuance, buyers, funding, backstop, liquidity.

Every figure may be missing (a source down, a series not backfilled yet): the reading says which, so the
reply answers with what it has and names the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlite_utils

from bot.market.calendar import business_days_back
from bot.market.readings import Change, changes, corridor_on
from storage.observations import Point, history, latest, total_between

# Below this a day's take-up is a token bid (a few million), worth showing but not worth a red flag
# (/srf) and not counted as the Fed funding the market (/thesis).
MATERIAL_SRF_BN = 1.0
# "Hidden QE is on" when material SRF take-up printed on at least this many of the last 20 business days.
QE_WINDOW_DAYS = 20
QE_ON_DAYS = 5

_MONTH_YEAR = {"1m": 30, "12m": 365}
_MONTH = {"1m": 30}
_WEEK = {"1w": 7}


@dataclass(frozen=True, slots=True)
class Figure:
    point: Point
    changes: tuple[Change, ...] = ()

    def change(self, ago: str) -> Change | None:
        return next((c for c in self.changes if c.ago == ago), None)


@dataclass(slots=True)
class Thesis:
    debt: Figure | None = None
    net_bills_30d: float | None = None
    net_coupons_30d: float | None = None
    issuance_until: str | None = None
    custody: Figure | None = None
    banks: Figure | None = None
    dvp: Figure | None = None
    sofr_volume: Figure | None = None
    sofr_date: str | None = None
    sofr_iorb_bp: float | None = None
    share_above_iorb: str | None = None  # "1-25%": the volume-weighted percentiles bracketing IORB
    srf: Point | None = None
    srf_30d: float | None = None
    srf_ytd: float | None = None
    srf_days: int | None = None  # material take-up days among the last QE_WINDOW_DAYS business days
    tga: Point | None = None
    rrp: Point | None = None
    reserves: Point | None = None
    net_liquidity: Figure | None = None
    missing: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str | None:
        """on, flickering or off by the stated rule; None without SRF data."""
        return qe_verdict(self.srf_days)


def qe_verdict(srf_days: int | None) -> str | None:
    """The rule, written once: on at QE_ON_DAYS material days of the window, flickering below, off at 0."""
    if srf_days is None:
        return None
    if srf_days >= QE_ON_DAYS:
        return "on"
    return "flickering" if srf_days > 0 else "off"


def volume_share_above(level: float, p1: float, p25: float, p75: float, p99: float) -> str:
    """The share of SOFR volume traded above a level, bracketed by the published volume percentiles."""
    if level < p1:
        return ">99%"
    if level < p25:
        return "75\u201399%"
    if level < p75:
        return "25\u201375%"
    if level < p99:
        return "1\u201325%"
    return "<1%"


def _figure(
    db: sqlite_utils.Database, series: str, spans: dict[str, int], missing: list[str]
) -> Figure | None:
    point = latest(db, series)
    if point is None:
        missing.append(series)
        return None
    return Figure(point, tuple(changes(db, series, point, spans)))


def _point(db: sqlite_utils.Database, series: str, missing: list[str]) -> Point | None:
    point = latest(db, series)
    if point is None:
        missing.append(series)
    return point


def read_thesis(db: sqlite_utils.Database) -> Thesis:
    """Everything /thesis and the daily summary say about the chain, from what is stored."""
    th = Thesis()
    missing = th.missing
    th.debt = _figure(db, "public_debt", _MONTH_YEAR, missing)
    for series in ("net_bills", "net_coupons"):
        last = latest(db, series)
        if last is None:
            missing.append(series)
            continue
        since = (date.fromisoformat(last.date) - timedelta(days=29)).isoformat()
        total = round(total_between(db, series, since, last.date)[0], 3)
        th.issuance_until = max(th.issuance_until or "", last.date)
        if series == "net_bills":
            th.net_bills_30d = total
        else:
            th.net_coupons_30d = total
    th.custody = _figure(db, "custody", _MONTH_YEAR, missing)
    th.banks = _figure(db, "bank_treasuries", _MONTH_YEAR, missing)
    th.dvp = _figure(db, "dvp_volume", _MONTH_YEAR, missing)
    th.sofr_volume = _figure(db, "sofr_volume", _MONTH_YEAR, missing)
    corridor = corridor_on(db)
    if corridor is None:
        missing.append("sofr")
    else:
        th.sofr_date = corridor.date
        if corridor.iorb is None:
            missing.append("iorb")
        else:
            th.sofr_iorb_bp = round((corridor.sofr - corridor.iorb) * 100, 1)
            tails = [latest(db, f"sofr_{p}", on_or_before=corridor.date) for p in ("p1", "p25", "p75", "p99")]
            if all(p is not None and p.date == corridor.date for p in tails):
                p1, p25, p75, p99 = (p.value for p in tails if p is not None)
                th.share_above_iorb = volume_share_above(corridor.iorb, p1, p25, p75, p99)
    th.srf = _point(db, "srf", missing)
    if th.srf is not None:
        end = date.fromisoformat(th.srf.date)
        th.srf_30d = round(
            total_between(db, "srf", (end - timedelta(days=29)).isoformat(), th.srf.date)[0], 3
        )
        th.srf_ytd = round(total_between(db, "srf", f"{end.year}-01-01", th.srf.date)[0], 3)
        window = business_days_back(end, QE_WINDOW_DAYS)
        values = {p.date: p.value for p in history(db, "srf", since=window[0].isoformat(), until=th.srf.date)}
        th.srf_days = sum(1 for d in window if values.get(d.isoformat(), 0.0) >= MATERIAL_SRF_BN)
    th.tga = _point(db, "tga", missing)
    th.rrp = _point(db, "rrp", missing)
    th.reserves = _point(db, "reserves", missing)
    th.net_liquidity = _figure(db, "net_liquidity", _WEEK, missing)
    return th
