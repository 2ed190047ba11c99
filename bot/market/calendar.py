"""The funding calendar, pure: month- and quarter-ends, mid-month coupon settlement, tax dates and large
auction settlements, the days repo cash runs short. Business days follow the Federal Reserve's holidays."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache

# Settlements at least this large in one day ($bn of new securities) drain cash from repo.
LARGE_SETTLEMENT_BN = 100.0

# Tags in the order replies list them.
TAGS = ("year_end", "quarter_end", "month_end", "coupon_settlement", "tax_date", "large_settlement")


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th given weekday of a month (n = -1: the last one)."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = (date(year, month, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


@cache
def fed_holidays(year: int) -> frozenset[date]:
    """Federal Reserve holidays; one on a Sunday is observed on Monday, one on a Saturday is not moved."""
    fixed = [date(year, 1, 1), date(year, 7, 4), date(year, 11, 11), date(year, 12, 25)]
    if year >= 2022:
        fixed.append(date(year, 6, 19))
    days = {d + timedelta(days=1) if d.weekday() == 6 else d for d in fixed}
    days |= {
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    }
    return frozenset(d for d in days if d.weekday() < 5)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in fed_holidays(day.year)


def next_business_day(day: date) -> date:
    """The day itself when it is a business day, else the next one."""
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def previous_business_day(day: date) -> date:
    """The day itself when it is a business day, else the one before."""
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def last_business_day(year: int, month: int) -> date:
    last = (date(year, month, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return previous_business_day(last)


def is_month_end(day: date) -> bool:
    return day == last_business_day(day.year, day.month)


def coupon_settlement_day(year: int, month: int) -> date:
    """Notes and bonds auctioned for mid-month settle on the 15th, or the next business day."""
    return next_business_day(date(year, month, 15))


# (month, day) of federal tax payment dates: individual estimates (Jan, Apr, Jun, Sep) and corporate
# estimates (Apr, Jun, Sep, Dec); each moves to the next business day.
_TAX_DATES = ((1, 15), (4, 15), (6, 15), (9, 15), (12, 15))


def is_tax_date(day: date) -> bool:
    return any(day == next_business_day(date(day.year, m, d)) for m, d in _TAX_DATES)


def day_tags(day: date, settlements_bn: Mapping[str, float] | None = None) -> list[str]:
    """What makes a day special for funding, in TAGS order; settlements_bn: $bn issued per ISO date."""
    tags: set[str] = set()
    if is_business_day(day) and is_month_end(day):
        tags.add("month_end")
        if day.month in (3, 6, 9, 12):
            tags.add("quarter_end")
        if day.month == 12:
            tags.add("year_end")
    if day == coupon_settlement_day(day.year, day.month):
        tags.add("coupon_settlement")
    if is_tax_date(day):
        tags.add("tax_date")
    if settlements_bn and settlements_bn.get(day.isoformat(), 0.0) >= LARGE_SETTLEMENT_BN:
        tags.add("large_settlement")
    return [tag for tag in TAGS if tag in tags and not _implied(tag, tags)]


def _implied(tag: str, tags: set[str]) -> bool:
    """A year-end is also a quarter- and month-end: say the strongest only."""
    if tag == "month_end":
        return "quarter_end" in tags
    if tag == "quarter_end":
        return "year_end" in tags
    return False


def business_days_back(end: date, count: int) -> list[date]:
    """The last `count` business days up to and including end (when it is one), oldest first."""
    days: list[date] = []
    day = end
    while len(days) < count:
        if is_business_day(day):
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]
