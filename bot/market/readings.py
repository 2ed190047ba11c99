"""Market readings assembled from storage: the corridor on a date, series changes, SRF days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import sqlite_utils

from bot.core.models import Operation
from bot.core.series import SRF_START, is_srf
from bot.market.levels import is_breach, is_near
from storage.observations import Point, latest, value_on
from storage.operations import operations_between

Verdict = Literal["calm", "tight", "breach"]

# A policy rate (floor or ceiling) older than this relative to the corridor date is not used.
POLICY_RATE_MAX_AGE_DAYS = 10


@dataclass(frozen=True, slots=True)
class Corridor:
    date: str
    sofr: float
    sofr_p99: float | None
    sofr_volume: float | None
    effr: float | None
    effr_date: str | None
    iorb: float | None
    floor: float | None
    ceiling: float | None
    floor_label: str  # message key: label.on_rrp or label.target_lower
    ceiling_label: str  # message key: label.srf or label.target_upper

    def spread_bp(self, level: float | None, other: float | None) -> float | None:
        if level is None or other is None:
            return None
        return round((level - other) * 100, 1)

    def verdict(self, tight_bp: float) -> Verdict:
        """BREACH above the ceiling, tight within tight_bp of it, otherwise calm."""
        if is_breach(self.sofr, self.ceiling):
            return "breach"
        if is_near(self.sofr, self.ceiling, tight_bp):
            return "tight"
        return "calm"


def _recent(db: sqlite_utils.Database, series: str, day: str) -> Point | None:
    point = latest(db, series, on_or_before=day)
    if point is None:
        return None
    age = (date.fromisoformat(day) - date.fromisoformat(point.date)).days
    return point if age <= POLICY_RATE_MAX_AGE_DAYS else None


def choose_ceiling(
    day: str, exact_srf: float | None, upper: float | None, recent_srf: float | None
) -> tuple[float | None, str]:
    """The ceiling rule, shared by /corridor and the alert engine so the two never disagree: that day's
    SRF minimum bid rate, else the target range top in effect (which the SRF rate equals since the
    facility began), else a recent SRF rate. Returns the level and the message key of its label."""
    if exact_srf is not None:
        return exact_srf, "label.srf"
    if upper is not None:
        return upper, "label.srf" if day >= SRF_START else "label.target_upper"
    return recent_srf, "label.srf"


def ceiling_on(db: sqlite_utils.Database, day: str) -> tuple[float | None, str]:
    """The ceiling in effect on a day and where it comes from (see choose_ceiling)."""
    upper = _recent(db, "fed_upper", day)
    recent = _recent(db, "srf_rate", day)
    return choose_ceiling(
        day, value_on(db, "srf_rate", day), upper.value if upper else None, recent.value if recent else None
    )


def floor_on(db: sqlite_utils.Database, day: str) -> tuple[float | None, str]:
    """The floor on a day: the ON RRP award rate, else the target range bottom."""
    rrp_rate = _recent(db, "rrp_rate", day)
    if rrp_rate is not None:
        return rrp_rate.value, "label.on_rrp"
    lower = _recent(db, "fed_lower", day)
    return (lower.value, "label.target_lower") if lower else (None, "label.on_rrp")


def corridor_on(db: sqlite_utils.Database, day: str | None = None) -> Corridor | None:
    """The corridor on a SOFR date (the latest by default); None when there is no SOFR yet."""
    sofr = latest(db, "sofr", on_or_before=day)
    if sofr is None:
        return None
    d = sofr.date
    ceiling, ceiling_label = ceiling_on(db, d)
    floor, floor_label = floor_on(db, d)
    effr = latest(db, "effr", on_or_before=d)
    iorb = _recent(db, "iorb", d)
    return Corridor(
        date=d,
        sofr=sofr.value,
        sofr_p99=value_on(db, "sofr_p99", d),
        sofr_volume=value_on(db, "sofr_volume", d),
        effr=effr.value if effr else None,
        effr_date=effr.date if effr else None,
        iorb=iorb.value if iorb else None,
        floor=floor,
        ceiling=ceiling,
        floor_label=floor_label,
        ceiling_label=ceiling_label,
    )


@dataclass(frozen=True, slots=True)
class Change:
    ago: str  # "1w", "1m"
    base_date: str
    delta: float


def changes(db: sqlite_utils.Database, series: str, point: Point, spans: dict[str, int]) -> list[Change]:
    """Changes against the value as of N days before; skipped when no value is near enough that date."""
    out: list[Change] = []
    for label, days in spans.items():
        target = date.fromisoformat(point.date) - timedelta(days=days)
        base = latest(db, series, on_or_before=target.isoformat())
        # A week-ago comparison may slip over a long weekend, not back to last month.
        if base is not None and (target - date.fromisoformat(base.date)).days <= max(4, days // 4):
            out.append(Change(label, base.date, point.value - base.value))
    return out


@dataclass(frozen=True, slots=True)
class SrfDay:
    date: str
    operations: tuple[Operation, ...]  # non-SVE overnight repo operations, in time order
    excluded_sve: tuple[Operation, ...]

    @property
    def total(self) -> float:
        return round(sum(op.total_accepted for op in self.operations), 6)


def srf_day(db: sqlite_utils.Database, day: str) -> SrfDay:
    """The SRF operations of one day, with Small Value Exercises set apart."""
    ops = operations_between(db, day, day, "Repo")
    return SrfDay(day, tuple(op for op in ops if is_srf(op)), tuple(op for op in ops if op.is_sve))


def sve_between(db: sqlite_utils.Database, since: str, until: str) -> list[Operation]:
    """Small Value Exercises in a date range."""
    return [op for op in operations_between(db, since, until, "Repo") if op.is_sve]
