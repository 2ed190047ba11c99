from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.clock import NEW_YORK
from bot.sources import closed_days
from bot.sources.schedule import (
    MAX_BACKOFF,
    _fed_holidays,
    _sifma_holidays,
    add_business_days,
    backoff,
    expected_latest,
    fed_from_library,
    interval_for,
    is_business_day,
    is_due,
    is_late,
    sifma_extra_from_library,
    stored_days,
)
from tests.seed import SHARED_DATA


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


# -- the release calendar: business days, holidays and the publication lag


@pytest.mark.parametrize(
    ("series", "moment", "expected"),
    [
        # the week after Thanksgiving (Thu 2025-11-27): Wednesday's SOFR comes out on Friday
        ("sofr", "2025-11-28 09:00", "2025-11-26"),
        ("sofr", "2025-12-01 08:50", "2025-11-28"),
        ("sofr", "2025-12-02 08:30", "2025-11-28"),  # Monday's print is due 08:00, late only after 08:45
        ("sofr", "2025-12-02 08:50", "2025-12-01"),
        ("tga", "2025-11-28 17:30", "2025-11-26"),
        ("rrp", "2025-11-28 14:30", "2025-11-28"),
        ("rrp", "2025-11-28 13:30", "2025-11-26"),
        # Good Friday 2026-04-03: no SOFR (SIFMA closed), but EFFR and the Fed run
        ("sofr", "2026-04-06 09:00", "2026-04-02"),
        ("effr", "2026-04-06 10:00", "2026-04-03"),
        ("srf", "2026-04-03 15:00", "2026-04-03"),
        # Juneteenth, Friday 2026-06-19: Thursday's DTS is published on Monday afternoon
        ("tga", "2026-06-22 15:00", "2026-06-17"),
        ("tga", "2026-06-22 17:30", "2026-06-18"),
        ("sofr", "2026-06-22 09:00", "2026-06-18"),
        # Independence Day on a Saturday: SIFMA closes Friday 2026-07-03, the Fed does not
        ("sofr", "2026-07-06 09:00", "2026-07-02"),
        ("effr", "2026-07-06 10:00", "2026-07-03"),
        # the 2025-01-09 national day of mourning closed the NYSE, not the bond market or the Fed
        ("sofr", "2025-01-10 09:00", "2025-01-09"),
        ("tga", "2025-01-10 17:30", "2025-01-09"),
        # after the MLK Monday holiday, Friday's SOFR is still the newest on Tuesday before 08:45
        ("sofr", "2026-01-20 07:00", "2026-01-15"),
        ("sofr", "2026-01-20 09:00", "2026-01-16"),
        # the weekly H.4.1: Wednesday's figure on Thursday afternoon, Friday when Thursday is a holiday
        ("reserves", "2026-02-19 17:00", "2026-02-11"),
        ("reserves", "2026-02-19 19:00", "2026-02-18"),
        ("fed_assets", "2025-11-27 20:00", "2025-11-19"),
        ("fed_assets", "2025-11-28 19:00", "2025-11-26"),
        # the chain's series: BGCR and the DVP proxy with SOFR, custody with the H.4.1, H.8 nine days late
        ("bgcr", "2025-11-28 09:00", "2025-11-26"),
        ("dvp_volume", "2026-04-06 09:00", "2026-04-02"),
        ("custody", "2025-11-28 19:00", "2025-11-26"),
        ("bank_treasuries", "2025-11-07 17:00", "2025-10-22"),
        ("bank_treasuries", "2025-11-07 23:00", "2025-10-29"),
        ("public_debt", "2025-11-03 17:00", "2025-10-30"),
        ("public_debt", "2025-11-03 18:30", "2025-10-31"),
        ("net_bills", "2026-06-22 17:30", "2026-06-18"),
    ],
)
def test_expected_latest_follows_the_release_calendar(series: str, moment: str, expected: str) -> None:
    assert expected_latest(series, ny(moment)) == date.fromisoformat(expected)


def test_late_after_a_monday_holiday_only_when_a_release_is_missed() -> None:
    # the issue's false alarm: Friday 2026-01-16's SOFR read on Tuesday morning after MLK day
    assert not is_late("sofr", date(2026, 1, 16), ny("2026-01-20 08:30"))
    assert is_late("sofr", date(2026, 1, 16), ny("2026-01-21 09:00"))
    assert expected_latest("net_liquidity", ny("2026-01-21 09:00")) is None


@pytest.mark.parametrize(
    ("day", "fed", "sifma"),
    [
        ("2021-12-24", True, False),  # Christmas on Saturday: the Fed stays open, SIFMA closes
        ("2021-12-31", True, True),  # New Year's Day on Saturday: both open
        ("2023-11-10", True, True),  # Veterans Day on Saturday: both open
        ("2026-04-03", True, False),  # Good Friday
        ("2026-10-12", False, False),  # Columbus Day
        ("2025-01-09", True, True),  # day of mourning
        ("2026-11-27", True, True),  # the Friday after Thanksgiving
    ],
)
def test_business_days(day: str, fed: bool, sifma: bool) -> None:
    assert is_business_day(date.fromisoformat(day), "fed") is fed
    assert is_business_day(date.fromisoformat(day), "sifma") is sifma
    assert add_business_days(date(2026, 4, 2), 1, "sifma") == date(2026, 4, 6)


def test_sifma_calendar_matches_every_published_sofr_date() -> None:
    path = SHARED_DATA / "fred_SOFR_fredgraph.csv"
    if not path.exists():
        pytest.skip("the real SOFR history (shared/data) is not on this machine")
    rows = [line.split(",") for line in path.read_text().splitlines()[1:] if line >= "2019"]
    wrong = [
        d for d, v in rows if is_business_day(date.fromisoformat(d), "sifma") != (v.strip() not in ("", "."))
    ]
    assert wrong == []


def test_every_published_series_has_a_release_rule() -> None:
    from bot.core.series import CATALOG
    from bot.sources.schedule import RELEASES

    # every published series has a release rule; only the derived net liquidity follows its inputs
    assert set(RELEASES) == set(CATALOG) - {"net_liquidity"}


@pytest.mark.parametrize("year", range(closed_days.FIRST, closed_days.LAST + 1))
def test_the_stored_closed_days_are_the_holidays_librarys(year: int) -> None:
    """The table the calendar reads (so start-up never imports `holidays`) is the library's own answer;
    when a `holidays` release changes a rule this fails: rerun scripts/closed_days.py."""
    assert stored_days(year, closed_days.FED[year]) == fed_from_library(year)
    assert stored_days(year, closed_days.SIFMA_EXTRA[year]) == sifma_extra_from_library(year)


@pytest.mark.parametrize("year", [closed_days.FIRST - 1, closed_days.LAST + 1])
def test_years_outside_the_table_ask_the_library(year: int) -> None:
    assert _fed_holidays(year) == fed_from_library(year)
    assert _sifma_holidays(year) == fed_from_library(year) | sifma_extra_from_library(year)


def test_a_holiday_past_the_table_still_closes_the_fed() -> None:
    assert not is_business_day(date(2041, 7, 4))  # a Thursday, Independence Day
    assert not is_business_day(date(2041, 4, 19), "sifma") and is_business_day(
        date(2041, 4, 19)
    )  # Good Friday
