"""Freshness of every series and source, computed from what storage holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import sqlite_utils

from bot.core.clock import ny_today
from bot.core.series import CATALOG, NET_LIQUIDITY_INPUTS
from bot.sources.registry import SOURCES
from bot.sources.schedule import RELEASES, is_late
from storage.fetchlog import FetchRecord, failure_streak, last_fetches, last_success
from storage.observations import series_summary

# The series users see in /status; percentiles and volumes ride along with their parent.
STATUS_SERIES: tuple[str, ...] = (
    "sofr",
    "effr",
    "iorb",
    "fed_lower",
    "fed_upper",
    "srf",
    "srf_rate",
    "rrp",
    "rrp_rate",
    "tga",
    "reserves",
    "fed_assets",
    "net_liquidity",
)


@dataclass(frozen=True, slots=True)
class SeriesStatus:
    series: str
    name: str
    short: str
    unit: str
    source: str
    date: str | None
    value: float | None
    age_days: int | None
    stale: bool


@dataclass(frozen=True, slots=True)
class SourceStatus:
    source: str
    label: str
    last: FetchRecord | None
    last_ok: str | None
    failures: int

    @property
    def degraded(self) -> bool:
        return self.last is not None and self.last.outcome != "ok"


def is_stale(series: str, stored: str, now: datetime, latest_inputs: Mapping[str, str]) -> bool:
    """Late by the release calendar; net liquidity is stale when any of its inputs is, or one is missing."""
    if series == "net_liquidity":
        return any(
            name not in latest_inputs or is_late(name, date.fromisoformat(latest_inputs[name]), now)
            for name in NET_LIQUIDITY_INPUTS
        )
    if series not in RELEASES:  # no release rule yet: the catalog's calendar-day allowance
        return (ny_today(now) - date.fromisoformat(stored)).days > CATALOG[series].stale_after_days
    return is_late(series, date.fromisoformat(stored), now)


def series_status(
    db: sqlite_utils.Database, now: datetime, names: tuple[str, ...] = STATUS_SERIES
) -> list[SeriesStatus]:
    """Latest date, value and age of each named series, with stale ones flagged."""
    today = ny_today(now)
    latest = series_summary(db, tuple(dict.fromkeys((*names, *NET_LIQUIDITY_INPUTS))))
    inputs = {name: latest[name].date for name in NET_LIQUIDITY_INPUTS if name in latest}
    out: list[SeriesStatus] = []
    for name in names:
        info = CATALOG[name]
        point = latest.get(name)
        age = (today - date.fromisoformat(point.date)).days if point else None
        out.append(
            SeriesStatus(
                series=name,
                name=info.name,
                short=info.short,
                unit=info.unit,
                source=info.source,
                date=point.date if point else None,
                value=point.value if point else None,
                age_days=age,
                stale=point is None or is_stale(name, point.date, now, inputs),
            )
        )
    return out


def source_status(db: sqlite_utils.Database) -> list[SourceStatus]:
    """The last fetch outcome of each source and how many have failed in a row."""
    last = last_fetches(db)
    ok = last_success(db)
    return [
        SourceStatus(name, spec.label, last.get(name), ok.get(name), failure_streak(db, name))
        for name, spec in SOURCES.items()
    ]
