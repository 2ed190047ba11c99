"""The release calendar: poll each source every minute inside its release windows, rarely outside."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.core.clock import NEW_YORK


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
