"""Time helpers: every timestamp is timezone-aware, and market dates are New York dates."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
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


def is_iso_date(value: object) -> bool:
    """True for a real calendar date written exactly as YYYY-MM-DD (what every source and command accepts)."""
    # Exactly ten characters, so the cache below holds short keys only.
    return isinstance(value, str) and len(value) == 10 and _is_iso_date(value)


# A backfill checks each of 9,000 dates a dozen times (every series of a day, every row of a statement).
@lru_cache(maxsize=16384)
def _is_iso_date(value: str) -> bool:
    if not _ISO_DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True
