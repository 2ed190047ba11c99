from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.clock import NEW_YORK
from bot.sources.schedule import MAX_BACKOFF, backoff, interval_for, is_due


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("source", "moment", "expected"),
    [
        ("nyfed", "2026-02-17 08:01", timedelta(seconds=60)),  # SOFR release
        ("nyfed", "2026-02-17 08:31", timedelta(seconds=60)),  # SRF AM result
        ("nyfed", "2026-02-17 13:46", timedelta(seconds=60)),  # SRF PM result
        ("nyfed", "2026-02-17 11:30", timedelta(minutes=15)),  # between windows
        ("nyfed", "2026-02-21 08:01", timedelta(minutes=15)),  # Saturday
        ("fiscaldata", "2026-06-24 16:02", timedelta(seconds=60)),
        ("fiscaldata", "2026-06-24 10:00", timedelta(minutes=60)),
        ("fred", "2026-02-19 16:31", timedelta(minutes=5)),  # Thursday H.4.1
        ("fred", "2026-02-18 16:31", timedelta(minutes=60)),  # Wednesday evening
        # DST: 08:01 New York is 12:01 UTC in summer and 13:01 UTC in winter; both are in the window.
        ("nyfed", "2026-07-15 08:01", timedelta(seconds=60)),
    ],
)
def test_release_windows_in_new_york_time(source: str, moment: str, expected: timedelta) -> None:
    assert interval_for(source, ny(moment)) == expected


def test_window_is_evaluated_in_new_york_not_utc() -> None:
    # 08:01 UTC is 03:01 in New York: outside every window.
    assert interval_for("nyfed", datetime(2026, 2, 17, 8, 1, tzinfo=UTC)) == timedelta(minutes=15)


def test_backoff_doubles_and_caps() -> None:
    base = timedelta(seconds=60)
    assert backoff(0, base) == base
    assert backoff(1, base) == timedelta(seconds=120)
    assert backoff(3, base) == timedelta(seconds=480)
    assert backoff(30, base) == MAX_BACKOFF


def test_is_due() -> None:
    now = ny("2026-02-17 08:31")
    assert is_due("nyfed", now, None, 0)
    assert not is_due("nyfed", now, now - timedelta(seconds=20), 0)
    assert is_due("nyfed", now, now - timedelta(seconds=59), 0)  # tick jitter tolerance
    assert not is_due("nyfed", now, now - timedelta(seconds=90), 2)  # backing off after failures
    assert is_due("nyfed", now, now - timedelta(seconds=5), 0, fixed_interval=timedelta(seconds=5))
