"""Time helpers: every timestamp is timezone-aware, and market dates are New York dates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")

Clock = Callable[[], datetime]


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
