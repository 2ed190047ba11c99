"""The release calendar: poll each source every minute inside its release windows, rarely outside."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal

from bot.core.clock import NEW_YORK
from bot.sources import closed_days


@dataclass(frozen=True, slots=True)
class Window:
    """A release window in New York time on the given weekdays (Monday = 0)."""

    label: str
    start: time
    end: time
    weekdays: frozenset[int] = frozenset(range(5))

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(NEW_YORK)
        return local.weekday() in self.weekdays and self.start <= local.time() <= self.end


@dataclass(frozen=True, slots=True)
class SourceCalendar:
    windows: tuple[Window, ...]
    inside: timedelta = timedelta(seconds=60)
    outside: timedelta = timedelta(minutes=30)


_THURSDAY = frozenset({3})

CALENDAR: dict[str, SourceCalendar] = {
    "nyfed": SourceCalendar(
        (
            Window("SOFR", time(7, 55), time(8, 20)),
            Window("SRF AM", time(8, 28), time(8, 50)),
            Window("EFFR", time(8, 55), time(9, 20)),
            Window("SVE", time(10, 43), time(11, 0)),
            Window("ON RRP", time(13, 13), time(13, 35)),
            Window("SRF PM", time(13, 43), time(14, 5)),
        ),
        outside=timedelta(minutes=15),
    ),
    "fiscaldata": SourceCalendar((Window("DTS", time(15, 55), time(17, 0)),), outside=timedelta(minutes=60)),
    # Auction results at 11:30 (bills, some notes) and 13:00 ET (coupons); the debt and DTS in the afternoon.
    "treasury": SourceCalendar(
        (
            Window("auctions AM", time(11, 30), time(11, 50)),
            Window("auctions PM", time(13, 0), time(13, 20)),
            Window("debt, DTS", time(15, 55), time(17, 0)),
        ),
        inside=timedelta(minutes=2),
        outside=timedelta(minutes=60),
    ),
    "fred": SourceCalendar(
        (
            Window("H.4.1", time(16, 28), time(17, 30), _THURSDAY),
            # H.8 (banks' Treasury and agency securities) is released Fridays at 16:15 ET.
            Window("H.8", time(16, 13), time(17, 0), frozenset({4})),
            Window("FOMC range", time(14, 0), time(16, 0)),
        ),
        inside=timedelta(minutes=5),
        outside=timedelta(minutes=60),
    ),
}

# After consecutive failures a source waits longer before the next try, up to this ceiling.
MAX_BACKOFF = timedelta(minutes=30)


def interval_for(source: str, moment: datetime) -> timedelta:
    """How often the source should be polled at this moment."""
    calendar = CALENDAR.get(source)
    if calendar is None:
        return timedelta(minutes=30)
    if any(w.contains(moment) for w in calendar.windows):
        return calendar.inside
    return calendar.outside


def backoff(failures: int, interval: timedelta) -> timedelta:
    """The wait after a run of failures: the interval doubled per failure, capped."""
    if failures <= 0:
        return interval
    doubled: timedelta = interval * (2 ** min(failures, 10))
    return max(interval, min(MAX_BACKOFF, doubled))


def is_due(
    source: str,
    now: datetime,
    last_attempt: datetime | None,
    failures: int,
    fixed_interval: timedelta | None = None,
) -> bool:
    """Whether a source should be polled now, given its last attempt and failure streak."""
    if last_attempt is None:
        return True
    interval = fixed_interval if fixed_interval is not None else interval_for(source, now)
    wait = backoff(failures, interval)
    # A small tolerance so a 60 s tick does not skip a 60 s interval through scheduling jitter.
    return now - last_attempt >= wait - timedelta(seconds=2)


# -- the business-day calendars and when each series is released

BusinessCalendar = Literal["fed", "sifma"]


@lru_cache(maxsize=64)
def _fed_holidays(year: int) -> frozenset[date]:
    """Days the Federal Reserve Banks are closed (the `holidays` XFED calendar).

    A holiday on a Saturday is not moved to the Friday, so the Fed, EFFR, operations and the Daily Treasury
    Statement all run on such Fridays (2021-12-24, 2026-07-03).
    """
    if closed_days.FIRST <= year <= closed_days.LAST:  # the library's answers, stored: no import
        return stored_days(year, closed_days.FED[year])
    return fed_from_library(year)


@lru_cache(maxsize=64)
def _sifma_holidays(year: int) -> frozenset[date]:
    """Days SIFMA recommends a full close of the bond market, so no SOFR is published for them.

    The Fed's holidays plus, from the NYSE calendar, Good Friday and the Fridays before a Saturday
    Independence Day or Christmas (2020-07-03, 2021-12-24, 2026-07-03); New Year's Eve, Veterans Day and
    Juneteenth 2021 Fridays stay open as SIFMA kept them. No day is added by hand; the rule matches every
    published SOFR date 2019-2026 (tests/test_schedule.py). The NYSE's one-off closures (2025-01-09) are
    not taken: SIFMA only shortened that day and SOFR was published.
    """
    if closed_days.FIRST <= year <= closed_days.LAST:
        return _fed_holidays(year) | stored_days(year, closed_days.SIFMA_EXTRA[year])
    return _fed_holidays(year) | sifma_extra_from_library(year)


# The `holidays` library is imported only for years outside the stored table (bot/sources/closed_days.py,
# written from these two functions by scripts/closed_days.py): importing it loads every country it knows,
# about 110 ms of every one-shot command's start-up.


def fed_from_library(year: int) -> frozenset[date]:
    """The XFED calendar's closed days of a year, from the `holidays` library."""
    import holidays

    return frozenset(holidays.financial_holidays("XFED", years=year))


def sifma_extra_from_library(year: int) -> frozenset[date]:
    """NYSE's Good Friday and observed Fridays of a year that the Fed keeps open, from `holidays`."""
    import holidays

    nyse = holidays.financial_holidays("XNYS", years=year)
    extra = {day for day, name in nyse.items() if name == "Good Friday" or "(observed)" in name}
    return frozenset(extra) - fed_from_library(year)


def stored_days(year: int, stored: str) -> frozenset[date]:
    """A year's days from the table's "MM-DD MM-DD ..." string."""
    return frozenset(date.fromisoformat(f"{year}-{month_day}") for month_day in stored.split())


def is_business_day(day: date, calendar: BusinessCalendar = "fed") -> bool:
    """A weekday that is not a holiday of the calendar."""
    if day.weekday() >= 5:
        return False
    closed = _sifma_holidays(day.year) if calendar == "sifma" else _fed_holidays(day.year)
    return day not in closed


def add_business_days(day: date, count: int, calendar: BusinessCalendar = "fed") -> date:
    """The business day `count` business days after (or, when negative, before) day."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        if is_business_day(day, calendar):
            remaining -= 1
    return day


def previous_business_day(day: date, calendar: BusinessCalendar = "fed") -> date:
    """Day itself when it is a business day, else the business day before it."""
    while not is_business_day(day, calendar):
        day -= timedelta(days=1)
    return day


@dataclass(frozen=True, slots=True)
class Release:
    """When the value for a date is published: `lag` business days later at `at` New York time.

    A weekly release covers the week's Wednesday and is published the next Fed business day (H.4.1).
    """

    calendar: BusinessCalendar
    lag: int
    at: time
    grace: timedelta
    weekly: bool = False

    def published(self, day: date) -> datetime:
        """When the value dated `day` is due."""
        release_day = add_business_days(day, self.lag, self.calendar) if self.lag else day
        return datetime.combine(release_day, self.at, tzinfo=NEW_YORK)

    def expected_latest(self, now: datetime) -> date:
        """The newest date whose value should be out by now (release time plus the grace minutes)."""
        day = now.astimezone(NEW_YORK).date()
        if self.weekly:
            day -= timedelta(days=(day.weekday() - 2) % 7)  # back to a Wednesday
            while self.published(day) + self.grace > now:
                day -= timedelta(days=7)
            return day
        day = previous_business_day(day, self.calendar)
        while self.published(day) + self.grace > now:
            day = add_business_days(day, -1, self.calendar)
        return day


_NYFED_GRACE = timedelta(minutes=45)
_SOFR = Release("sifma", 1, time(8, 0), _NYFED_GRACE)
_EFFR = Release("fed", 1, time(9, 0), _NYFED_GRACE)
_SRF = Release("fed", 0, time(13, 45), _NYFED_GRACE)
_RRP = Release("fed", 0, time(13, 15), _NYFED_GRACE)
# FRED copies the Board's daily rates in the afternoon of the next business day, the H.4.1 on Thursday.
_FRED_DAILY = Release("fed", 1, time(17, 0), timedelta(hours=3))
_H41 = Release("fed", 1, time(16, 30), timedelta(hours=2), weekly=True)
_DTS = Release("fed", 1, time(16, 0), timedelta(minutes=60))
# Debt to the Penny for a day is out the next business day in the afternoon, a little after the DTS.
_DEBT = Release("fed", 1, time(16, 0), timedelta(hours=2))
# H.8 is published on Fridays at 16:15 for the week that ended on the Wednesday nine days before (seven
# business days); FRED carries it a little later.
_H8 = Release("fed", 7, time(16, 15), timedelta(hours=6), weekly=True)

RELEASES: dict[str, Release] = {
    "sofr": _SOFR,
    "sofr_p1": _SOFR,
    "sofr_p25": _SOFR,
    "sofr_p75": _SOFR,
    "sofr_p99": _SOFR,
    "sofr_volume": _SOFR,
    "effr": _EFFR,
    "effr_volume": _EFFR,
    "fed_upper": _FRED_DAILY,
    "fed_lower": _FRED_DAILY,
    "iorb": _FRED_DAILY,
    "srf": _SRF,
    "srf_rate": _SRF,
    "rrp": _RRP,
    "rrp_rate": _RRP,
    "tga": _DTS,
    "reserves": _H41,
    "fed_assets": _H41,
    # The tri-party rates and the DVP proxy come with SOFR, on the same SIFMA calendar.
    "bgcr": _SOFR,
    "bgcr_volume": _SOFR,
    "tgcr": _SOFR,
    "tgcr_volume": _SOFR,
    "dvp_volume": _SOFR,
    "custody": _H41,  # WMTSECL1 is an H.4.1 line
    "bank_treasuries": _H8,
    "public_debt": _DEBT,
    "debt_held_public": _DEBT,
    "net_bills": _DTS,
    "net_coupons": _DTS,
}


def expected_latest(series: str, now: datetime) -> date | None:
    """The newest date the release calendar says a series should have by now (None: derived series)."""
    release = RELEASES.get(series)
    return release.expected_latest(now) if release is not None else None


def is_late(series: str, stored: date, now: datetime) -> bool:
    """Whether the newest stored date is older than the calendar's expected release."""
    expected = expected_latest(series, now)
    return expected is not None and stored < expected
