"""Time helpers: every timestamp is timezone-aware, and market dates are New York dates."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")

Clock = Callable[[], datetime]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """A UTC timestamp string that sorts correctly as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_utc(text: str) -> datetime:
    """Inverse of iso_utc."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def ny_today(now: datetime) -> date:
    """The New York calendar date at an instant."""
    return now.astimezone(NEW_YORK).date()


# Dates already found valid: a backfill checks each of 9,000 dates a dozen times (every series of a day,
# every row of a statement). Bounded, and only ever holding real dates.
_VALID_DATES: set[str] = set()
_VALID_DATES_MAX = 50_000


def is_iso_date(value: object) -> bool:
    """True for a real calendar date written exactly as YYYY-MM-DD (what every source and command accepts)."""
    if not isinstance(value, str):
        return False
    if value in _VALID_DATES:
        return True
    if not _ISO_DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    if len(_VALID_DATES) < _VALID_DATES_MAX:
        _VALID_DATES.add(value)
    return True
