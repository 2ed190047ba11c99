"""Daily summaries: their contents on real seeded days, when each is due across DST changes and zones, and
that enqueueing runs every minute yet queues each chat once per local day."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from bot.alerts.summary import (
    LATE_LIMIT,
    daily_summary,
    due_at,
    due_date,
    enqueue_summaries,
    open_episodes,
)
from bot.core.clock import iso_utc
from bot.core.models import Auction
from bot.words.reply import Reply, Text
from storage.auctions import upsert_auctions
from storage.chats import Subscription, deactivate_chat, ensure_chat, set_muted_until, subscribe
from storage.db import open_db
from storage.marks import Mark, save_marks
from tests.seed import SCENARIOS, seeded


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def lines(reply: Reply) -> list[str]:
    """The market block's lines (a second block, when present, is the thesis chain: see chain_lines)."""
    assert len(reply.blocks) in (1, 2)
    block = reply.blocks[0]
    assert isinstance(block, Text)
    return block.text.split("\n")


def chain_lines(reply: Reply) -> list[str]:
    """The thesis verdict, the day's auctions and settlements, and the calendar."""
    assert len(reply.blocks) == 2
    block = reply.blocks[1]
    assert isinstance(block, Text)
    return block.text.split("\n")


# ---------------------------------------------------------------------------------------------------------
# Open episodes come from the alert marks
# ---------------------------------------------------------------------------------------------------------

# sofr_breach marks as the rule leaves them for the month_end_2025 seed: SOFR against the target range top
# (4.25 to 10-29, 4.00 from the 10-30 cut). 10-27 (4.27) is the first day above, and nothing has closed it.
BREACH_MARKS_2025 = [
    Mark("2025-10-22", "2025-10-22", 4.21, 4.25, False),
    Mark("2025-10-23", "2025-10-23", 4.24, 4.25, False),
    Mark("2025-10-24", "2025-10-24", 4.24, 4.25, False),
    Mark("2025-10-27", "2025-10-27", 4.27, 4.25, True),
    Mark("2025-10-28", "2025-10-28", 4.31, 4.25, True),
    Mark("2025-10-29", "2025-10-29", 4.27, 4.25, True),
    Mark("2025-10-30", "2025-10-30", 4.04, 4.00, True),
    Mark("2025-10-31", "2025-10-31", 4.22, 4.00, True),
]
# srf_positive@0 marks for the 2025-10-31 operations ($21.0B AM, $29.35B PM).
SRF_MARKS_2025 = [
    Mark("RP 103025 1", "2025-10-30|08:15|RP 103025 1", 0.0, 0.0, False),
    Mark("RP 103025 3", "2025-10-30|13:45|RP 103025 3", 0.0, 0.0, False),
    Mark("RP 103125 1", "2025-10-31|08:15|RP 103125 1", 21.0, 0.0, True),
    Mark("RP 103125 3", "2025-10-31|13:45|RP 103125 3", 29.35, 0.0, True),
]
# srf_positive@0 marks for February 2026: 02-17 took $11.0B then $19.5B, 02-18 AM nothing, 02-18 PM $0.004B.
SRF_MARKS_2026 = [
    Mark("RP 021326 27", "2026-02-13|13:45|RP 021326 27", 0.0, 0.0, False),
    Mark("RP 021726 25", "2026-02-17|08:30|RP 021726 25", 11.0, 0.0, True),
    Mark("RP 021726 27", "2026-02-17|13:45|RP 021726 27", 19.5, 0.0, True),
    Mark("RP 021826 25", "2026-02-18|08:30|RP 021826 25", 0.0, 0.0, False),
    Mark("RP 021826 29", "2026-02-18|13:45|RP 021826 29", 0.004, 0.0, True),
]


def test_open_episodes_from_marks(db: sqlite_utils.Database) -> None:
    assert open_episodes(db) == []
    save_marks(db, "sofr_breach", BREACH_MARKS_2025)
    assert open_episodes(db) == ["SOFR above the ceiling since 2025-10-27"]
    save_marks(db, "srf_positive@0", SRF_MARKS_2025)
    assert open_episodes(db) == ["SOFR above the ceiling since 2025-10-27", "SRF take-up since 2025-10-31"]


def test_a_closed_episode_is_not_open(db: sqlite_utils.Database) -> None:
    save_marks(db, "sofr_breach", BREACH_MARKS_2025)
    save_marks(db, "sofr_breach", [Mark("2025-11-03", "2025-11-03", 3.92, 4.00, False)])
    assert open_episodes(db) == []


def test_only_the_default_threshold_defines_an_open_srf_episode(db: sqlite_utils.Database) -> None:
    # A chat's own threshold (srf_positive@25) is that chat's business; the summary reports usage above zero.
    save_marks(
        db, "srf_positive@25", [Mark("RP 103125 3", "2025-10-31|13:45|RP 103125 3", 29.35, 25.0, True)]
    )
    assert open_episodes(db) == []


# ---------------------------------------------------------------------------------------------------------
# The summary's contents on real days
# ---------------------------------------------------------------------------------------------------------


def test_summary_on_the_october_2025_month_end() -> None:
    db = seeded("month_end_2025")
    save_marks(db, "sofr_breach", BREACH_MARKS_2025)
    save_marks(db, "srf_positive@0", SRF_MARKS_2025)
    reply = daily_summary(db, SCENARIOS["month_end_2025"].now)  # Mon 2025-11-03 09:05 ET
    assert reply.title == "\u2600\ufe0f Plumbline daily \u2014 Mon 2025-11-03"
    assert reply.level == "breach"
    # Net liquidity 10-31: 6587.034 (assets 10-29) - 1000.632 (TGA 10-30) - 51.802 (ON RRP) = 5534.600;
    # a week before (10-24): 6589.533 - 942.495 - 2.435 = 5644.603, so -110.003 w/w.
    assert lines(reply) == [
        "Corridor (2025-10-31): SOFR 4.22% vs ceiling 4.00% (+22 bp) \u2014 BREACH",
        "SRF: $50.350B on 2025-10-31; month to date $50.350B",
        "ON RRP: $51.80B (2025-10-31)",
        "TGA: $1.001T (+$150.6B vs the $850B target, 2025-10-30)",
        "Reserves: $2.848T (week of 2025-10-29)",
        "Net liquidity: $5.535T (\u2212$110.0B w/w, 2025-10-31)",
        "Open episodes: SOFR above the ceiling since 2025-10-27; SRF take-up since 2025-10-31",
    ]
    assert chain_lines(reply) == [
        "\U0001f7e1 Hidden QE is flickering: SRF take-up of $1B or more on 1 of the last 20 business days "
        "(rule: on at 5 or more).",
    ]


def test_summary_after_the_february_2026_srf_days() -> None:
    db = seeded("srf_feb_2026")
    save_marks(
        db,
        "sofr_breach",
        [Mark(d, d, v, 3.75, False) for d, v in (("2026-02-17", 3.71), ("2026-02-18", 3.73))],
    )
    save_marks(db, "srf_positive@0", SRF_MARKS_2026)
    reply = daily_summary(db, SCENARIOS["srf_feb_2026"].now)  # Thu 2026-02-19 08:35 ET
    assert reply.title == "\u2600\ufe0f Plumbline daily \u2014 Thu 2026-02-19"
    assert reply.level == "tight"
    # Month to date: 0.1 (02-10) + 0.008 (02-11) + 30.5 (02-17) + 0.004 (02-18); the 0.056 SVE is not usage.
    assert lines(reply) == [
        "Corridor (2026-02-18): SOFR 3.73% vs ceiling 3.75% (\u22122 bp) \u2014 tight",
        "SRF: $0.004B on 2026-02-18; month to date $30.612B",
        "ON RRP: $0.856B (2026-02-18)",
        "TGA: $924.7B (+$74.66B vs the $850B target, 2026-02-17)",
        "Reserves: $2.940T (week of 2026-02-11)",
        "Net liquidity: $5.697T (\u2212$13.93B w/w, 2026-02-18)",
        "Open episodes: SRF take-up since 2026-02-18",
    ]


def test_summary_on_a_calm_day_in_2024() -> None:
    db = seeded("calm_2024")
    reply = daily_summary(db, SCENARIOS["calm_2024"].now)
    assert reply.level == "calm"
    assert reply.title == "\u2600\ufe0f Plumbline daily \u2014 Fri 2024-06-07"
    assert lines(reply) == [
        "Corridor (2024-06-06): SOFR 5.33% vs ceiling 5.50% (\u221217 bp) \u2014 calm",
        "SRF: $0.000B on 2024-06-07; month to date $0.000B",
        "ON RRP: $395.5B (2024-06-07)",
        "TGA: $680.7B (\u2212$169.3B vs the $850B target, 2024-06-06)",
        "Reserves: $3.408T (week of 2024-06-05)",
        "Net liquidity: $6.179T (+$53.89B w/w, 2024-06-07)",
        "Open episodes: none",
    ]


def test_summary_names_the_days_auctions_settlements_and_calendar() -> None:
    db = seeded("june_2026")  # Wed 2026-06-24; 06-30 is the quarter-end
    held = Auction(
        "2026-06-24", "Note", "5-Year", issue_date="2026-06-30", offering_bn=70.0, bid_to_cover=2.4
    )
    settles = Auction("2026-06-22", "Bill", "52-Week", issue_date="2026-06-24", offering_bn=48.0)
    upsert_auctions(db, [held, settles], fetched_at="x")
    reply = daily_summary(db, SCENARIOS["june_2026"].now)
    assert chain_lines(reply) == [
        "Auctions today: 5-Year Note.",
        "Settling today: $48.00B of new Treasuries.",
        "Calendar: Ahead: Tue 2026-06-30 a quarter-end.",
    ]


def test_summary_tga_against_target_in_june_2026() -> None:
    reply = daily_summary(seeded("june_2026"), SCENARIOS["june_2026"].now)
    assert "TGA: $925.9B (+$75.88B vs the $850B target, 2026-06-23)" in lines(reply)
    assert "Net liquidity: $5.806T (+$32.92B w/w, 2026-06-24)" in lines(reply)


def test_summary_with_no_data_names_every_missing_section() -> None:
    # Every section the summary promises must be there, with a value or "no data yet": a silently missing
    # SRF, TGA or net liquidity line cannot be told apart from a summary that forgot them.
    reply = daily_summary(seeded("empty"), SCENARIOS["empty"].now)
    assert reply.level == "info"
    assert lines(reply) == [
        "SOFR: no data yet",
        "SRF take-up: no data yet",
        "ON RRP take-up: no data yet",
        "TGA closing balance: no data yet",
        "Reserve balances: no data yet",
        "Net liquidity: no data yet",
        "Open episodes: none",
    ]


def test_summary_of_the_2019_repo_spike_before_the_srf_existed() -> None:
    reply = daily_summary(seeded("repo_spike_2019"), SCENARIOS["repo_spike_2019"].now)
    assert reply.level == "breach"
    assert lines(reply)[0] == "Corridor (2019-09-17): SOFR 5.25% vs ceiling 2.25% (+300 bp) \u2014 BREACH"


# ---------------------------------------------------------------------------------------------------------
# due_date: local wall-clock times across DST, weekends, lateness
# ---------------------------------------------------------------------------------------------------------


def sub(time: str = "08:30", tz: str = "America/New_York", weekends: bool = False) -> Subscription:
    return Subscription(1, "daily", time, tz, weekends)


@pytest.mark.parametrize(
    ("tz", "time", "now", "due"),
    [
        # New York: 08:30 EST is 13:30 UTC (before 2026-03-08), 08:30 EDT is 12:30 UTC.
        ("America/New_York", "08:30", utc(2026, 3, 6, 13, 30), date(2026, 3, 6)),
        ("America/New_York", "08:30", utc(2026, 3, 6, 13, 29), None),
        ("America/New_York", "08:30", utc(2026, 3, 6, 12, 30), None),
        ("America/New_York", "08:30", utc(2026, 3, 9, 12, 30), date(2026, 3, 9)),
        ("America/New_York", "08:30", utc(2026, 3, 9, 12, 29), None),
        # ... and back to EST on 2026-11-01.
        ("America/New_York", "08:30", utc(2026, 10, 30, 12, 30), date(2026, 10, 30)),
        ("America/New_York", "08:30", utc(2026, 10, 30, 12, 29), None),
        ("America/New_York", "08:30", utc(2026, 11, 2, 13, 30), date(2026, 11, 2)),
        ("America/New_York", "08:30", utc(2026, 11, 2, 13, 29), None),
        ("America/New_York", "08:30", utc(2026, 11, 2, 12, 30), None),
        # London: BST from 2026-03-29 to 2026-10-25.
        ("Europe/London", "07:15", utc(2026, 3, 27, 7, 15), date(2026, 3, 27)),
        ("Europe/London", "07:15", utc(2026, 3, 27, 6, 15), None),
        ("Europe/London", "07:15", utc(2026, 3, 30, 6, 15), date(2026, 3, 30)),
        ("Europe/London", "07:15", utc(2026, 3, 30, 6, 14), None),
        ("Europe/London", "07:15", utc(2026, 10, 23, 6, 15), date(2026, 10, 23)),
        ("Europe/London", "07:15", utc(2026, 10, 26, 7, 15), date(2026, 10, 26)),
        ("Europe/London", "07:15", utc(2026, 10, 26, 6, 15), None),
        # Taipei has no DST; its Monday 08:30 is Sunday 00:30 UTC, its Saturday 08:30 a Friday in UTC.
        ("Asia/Taipei", "08:30", utc(2026, 3, 9, 0, 30), date(2026, 3, 9)),
        ("Asia/Taipei", "08:30", utc(2026, 3, 9, 0, 29), None),
        ("Asia/Taipei", "08:30", utc(2026, 7, 8, 0, 30), date(2026, 7, 8)),
        ("Asia/Taipei", "08:30", utc(2026, 3, 7, 0, 30), None),
        ("Asia/Taipei", "08:30", utc(2026, 3, 6, 0, 30), date(2026, 3, 6)),
    ],
)
def test_due_date_follows_local_wall_time(tz: str, time: str, now: datetime, due: date | None) -> None:
    assert due_date(sub(time, tz), now) == due


@pytest.mark.parametrize(
    ("now", "weekdays", "weekends"),
    [
        (utc(2026, 3, 7, 13, 30), None, date(2026, 3, 7)),  # Saturday, EST
        (utc(2026, 3, 8, 12, 30), None, date(2026, 3, 8)),  # Sunday, EDT from 02:00 that morning
        (utc(2026, 3, 8, 12, 29), None, None),
        (utc(2026, 3, 9, 12, 30), date(2026, 3, 9), date(2026, 3, 9)),  # Monday
    ],
)
def test_weekends_are_skipped_unless_asked_for(
    now: datetime, weekdays: date | None, weekends: date | None
) -> None:
    assert due_date(sub(), now) == weekdays
    assert due_date(sub(weekends=True), now) == weekends


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (utc(2026, 3, 9, 12, 30), date(2026, 3, 9)),
        (utc(2026, 3, 9, 15, 30), date(2026, 3, 9)),  # exactly three hours late
        (utc(2026, 3, 9, 15, 31), None),
        (utc(2026, 3, 9, 20, 0), None),
        (utc(2026, 3, 9, 4, 0), None),  # local midnight
        (utc(2026, 3, 9, 12, 29), None),
    ],
)
def test_more_than_three_hours_late_is_skipped_and_early_is_not_due(now: datetime, due: date | None) -> None:
    assert timedelta(hours=3) == LATE_LIMIT
    assert due_date(sub(), now) == due


def test_one_second_before_the_time_is_not_due() -> None:
    assert due_date(sub(), utc(2026, 3, 9, 12, 30) - timedelta(seconds=1)) is None


def test_a_subscription_without_time_or_zone_uses_the_defaults() -> None:
    bare = Subscription(1, "daily", None, None, False)
    assert due_date(bare, utc(2026, 3, 6, 13, 30)) == date(2026, 3, 6)
    assert due_date(bare, utc(2026, 3, 6, 13, 29)) is None


# ---------------------------------------------------------------------------------------------------------
# enqueue_summaries: once per chat per local day, however often it runs
# ---------------------------------------------------------------------------------------------------------


def daily_chat(
    db: sqlite_utils.Database,
    address: str,
    time: str,
    tz: str,
    *,
    weekends: bool = False,
    group: bool = False,
) -> int:
    chat = ensure_chat(db, "telegram", address, title="", is_group=group, now="2026-01-01T00:00:00Z")
    subscribe(db, chat.id, "daily", now="2026-01-01T00:00:00Z", daily_time=time, tz=tz, weekends=weekends)
    return chat.id


def run_every_minute(db: sqlite_utils.Database, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """Call enqueue_summaries once a minute from start to end; the minutes that queued something."""
    fired: list[tuple[str, int]] = []
    moment = start
    while moment <= end:
        queued = enqueue_summaries(db, moment)
        if queued:
            fired.append((iso_utc(moment), queued))
        moment += timedelta(minutes=1)
    return fired


def outbox(db: sqlite_utils.Database) -> list[tuple[str, str, str]]:
    rows = db.execute(
        "SELECT c.address, o.event_key, o.created_at FROM outbox o JOIN chats c ON c.id = o.chat_id "
        "ORDER BY o.created_at, c.address"
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def event_title(db: sqlite_utils.Database, key: str) -> str:
    row = db.execute("SELECT payload FROM events WHERE key = ?", (key,)).fetchone()
    assert row is not None, key
    return str(json.loads(row[0])["title"])


@pytest.fixture
def feb(tmp_path: Path) -> sqlite_utils.Database:
    db = seeded("srf_feb_2026", tmp_path / "feb.db")
    save_marks(db, "srf_positive@0", SRF_MARKS_2026)
    return db


def test_a_morning_of_minutes_queues_each_chat_once(feb: sqlite_utils.Database) -> None:
    """Thu 2026-02-19 (EST, GMT): every minute from 23:00 UTC the evening before to 20:00 UTC."""
    db = feb
    daily_chat(db, "ny-1", "08:30", "America/New_York")
    daily_chat(db, "ny-2", "08:30", "America/New_York", group=True)
    daily_chat(db, "london", "07:15", "Europe/London")
    daily_chat(db, "taipei", "08:30", "Asia/Taipei")
    muted = daily_chat(db, "muted", "08:30", "America/New_York")
    set_muted_until(db, muted, "2026-02-19T18:00:00Z")
    unmuted = daily_chat(db, "mute-ended", "08:30", "America/New_York")
    set_muted_until(db, unmuted, "2026-02-19T13:00:00Z")
    gone = daily_chat(db, "gone", "08:30", "America/New_York")
    deactivate_chat(db, gone, "Forbidden: bot was blocked by the user")
    alerts_only = ensure_chat(
        db, "telegram", "alerts-only", title="", is_group=False, now="2026-01-01T00:00:00Z"
    )
    subscribe(db, alerts_only.id, "alerts", now="2026-01-01T00:00:00Z")

    start, end = utc(2026, 2, 18, 23, 0), utc(2026, 2, 19, 20, 0)
    assert run_every_minute(db, start, end) == [
        ("2026-02-19T00:30:00Z", 1),  # Taipei 08:30 Thursday
        ("2026-02-19T07:15:00Z", 1),  # London 07:15 GMT
        ("2026-02-19T13:30:00Z", 3),  # New York 08:30 EST: ny-1, ny-2 and the chat whose mute ended
    ]
    # However often it runs again, nothing more is queued.
    assert run_every_minute(db, start, end) == []
    assert enqueue_summaries(db, utc(2026, 2, 19, 13, 30)) == 0

    ny_key = "daily:2026-02-19:America/New_York:08:30"
    assert outbox(db) == [
        ("taipei", "daily:2026-02-19:Asia/Taipei:08:30", "2026-02-19T00:30:00Z"),
        ("london", "daily:2026-02-19:Europe/London:07:15", "2026-02-19T07:15:00Z"),
        ("mute-ended", ny_key, "2026-02-19T13:30:00Z"),
        ("ny-1", ny_key, "2026-02-19T13:30:00Z"),
        ("ny-2", ny_key, "2026-02-19T13:30:00Z"),
    ]
    # Chats on one schedule share one event; each zone has its own.
    events = db.execute("SELECT key, rule, kind, data_date, audience FROM events ORDER BY key").fetchall()
    assert [tuple(e) for e in events] == [
        (
            "daily:2026-02-19:America/New_York:08:30",
            "daily",
            "summary",
            "2026-02-19",
            "daily America/New_York 08:30",
        ),
        (
            "daily:2026-02-19:Asia/Taipei:08:30",
            "daily",
            "summary",
            "2026-02-19",
            "daily Asia/Taipei 08:30",
        ),
        (
            "daily:2026-02-19:Europe/London:07:15",
            "daily",
            "summary",
            "2026-02-19",
            "daily Europe/London 07:15",
        ),
    ]


def test_the_queued_summary_is_the_summary_with_the_corridor_chart(feb: sqlite_utils.Database) -> None:
    daily_chat(feb, "ny-1", "08:30", "America/New_York")
    assert enqueue_summaries(feb, utc(2026, 2, 19, 13, 35)) == 1
    row = feb.execute(
        "SELECT payload FROM events WHERE key = 'daily:2026-02-19:America/New_York:08:30'"
    ).fetchone()
    payload = json.loads(row[0])
    expected = daily_summary(feb, utc(2026, 2, 19, 13, 35))
    assert payload["title"] == "\u2600\ufe0f Plumbline daily \u2014 Thu 2026-02-19"
    assert payload["level"] == "tight"
    assert payload["chart"] == "spread 1m"
    assert payload["blocks"] == [
        {"text": "\n".join(lines(expected))},
        {"text": "\n".join(chain_lines(expected))},
    ]
    assert "SRF: $0.004B on 2026-02-18; month to date $30.612B" in payload["blocks"][0]["text"]


def test_each_zone_gets_its_own_local_date(feb: sqlite_utils.Database) -> None:
    """At 00:30 UTC on Fri 2026-02-20 it is Thursday evening in New York and Friday morning in Taipei."""
    daily_chat(feb, "ny", "08:30", "America/New_York")
    daily_chat(feb, "taipei", "08:30", "Asia/Taipei")
    daily_chat(feb, "taipei-weekends", "08:30", "Asia/Taipei", weekends=True)
    assert enqueue_summaries(feb, utc(2026, 2, 20, 0, 30)) == 2
    # Saturday 08:30 in Taipei is still Friday in New York: only the weekend subscriber in Taipei gets one.
    assert enqueue_summaries(feb, utc(2026, 2, 21, 0, 30)) == 1
    assert outbox(feb) == [
        ("taipei", "daily:2026-02-20:Asia/Taipei:08:30", "2026-02-20T00:30:00Z"),
        ("taipei-weekends", "daily:2026-02-20:Asia/Taipei:08:30", "2026-02-20T00:30:00Z"),
        ("taipei-weekends", "daily:2026-02-21:Asia/Taipei:08:30", "2026-02-21T00:30:00Z"),
    ]


def test_a_summary_is_titled_with_the_subscribers_own_date(feb: sqlite_utils.Database) -> None:
    # Taipei's Thursday 08:30 is Wednesday 19:30 in New York. The weekday-only Taipei subscriber reads it on
    # Thursday morning; a title of "Wed 2026-02-18" (the New York date) looks like yesterday's summary, and
    # on a Monday it reads "Sun", which a weekday-only subscriber should never see.
    daily_chat(feb, "taipei", "08:30", "Asia/Taipei")
    assert enqueue_summaries(feb, utc(2026, 2, 19, 0, 30)) == 1
    assert event_title(feb, "daily:2026-02-19:Asia/Taipei:08:30") == (
        "\u2600\ufe0f Plumbline daily \u2014 Thu 2026-02-19"
    )


def test_late_start_skips_a_summary_more_than_three_hours_late(feb: sqlite_utils.Database) -> None:
    daily_chat(feb, "ny", "08:30", "America/New_York")
    # The bot comes up at 11:31 ET (16:31 UTC): today's 08:30 summary is dropped, tomorrow's goes out.
    assert run_every_minute(feb, utc(2026, 2, 19, 16, 31), utc(2026, 2, 20, 14, 0)) == [
        ("2026-02-20T13:30:00Z", 1)
    ]
    assert outbox(feb) == [("ny", "daily:2026-02-20:America/New_York:08:30", "2026-02-20T13:30:00Z")]


def test_a_bot_back_within_three_hours_still_sends_todays(feb: sqlite_utils.Database) -> None:
    daily_chat(feb, "ny", "08:30", "America/New_York")
    assert enqueue_summaries(feb, utc(2026, 2, 19, 16, 30)) == 1
    assert outbox(feb) == [("ny", "daily:2026-02-19:America/New_York:08:30", "2026-02-19T16:30:00Z")]


def test_a_mute_that_covers_the_time_skips_the_day(feb: sqlite_utils.Database) -> None:
    chat = daily_chat(feb, "ny", "08:30", "America/New_York")
    set_muted_until(feb, chat, "2026-02-19T13:45:00Z")
    assert enqueue_summaries(feb, utc(2026, 2, 19, 13, 30)) == 0
    # The mute ends a quarter of an hour later, within the three hours: the summary goes out then.
    assert enqueue_summaries(feb, utc(2026, 2, 19, 13, 45)) == 1


def across_march_2026(tmp_path: Path) -> sqlite_utils.Database:
    db = open_db(tmp_path / "dst.db")
    daily_chat(db, "ny", "08:30", "America/New_York")
    daily_chat(db, "ny-weekends", "08:30", "America/New_York", weekends=True)
    daily_chat(db, "london", "07:15", "Europe/London")
    daily_chat(db, "taipei", "08:30", "Asia/Taipei")
    return db


def test_summaries_across_the_march_dst_change(tmp_path: Path) -> None:
    """Fri 2026-03-06 to Mon 2026-03-09: New York moves to EDT on Sunday 03-08, London and Taipei do not."""
    db = across_march_2026(tmp_path)
    fired = run_every_minute(db, utc(2026, 3, 6, 0, 0), utc(2026, 3, 9, 18, 0))
    assert fired == [
        ("2026-03-06T00:30:00Z", 1),  # Taipei Friday
        ("2026-03-06T07:15:00Z", 1),  # London Friday (GMT)
        ("2026-03-06T13:30:00Z", 2),  # New York Friday, 08:30 EST
        ("2026-03-07T13:30:00Z", 1),  # Saturday, weekend subscriber only
        ("2026-03-08T12:30:00Z", 1),  # Sunday, already EDT
        ("2026-03-09T00:30:00Z", 1),  # Taipei Monday (Sunday in UTC)
        ("2026-03-09T07:15:00Z", 1),  # London Monday (still GMT)
        ("2026-03-09T12:30:00Z", 2),  # New York Monday, 08:30 EDT
    ]
    assert [(a, k.split(":")[1]) for a, k, _ in outbox(db) if a.startswith("ny")] == [
        ("ny", "2026-03-06"),
        ("ny-weekends", "2026-03-06"),
        ("ny-weekends", "2026-03-07"),
        ("ny-weekends", "2026-03-08"),
        ("ny", "2026-03-09"),
        ("ny-weekends", "2026-03-09"),
    ]


def test_summaries_across_the_autumn_dst_changes(tmp_path: Path) -> None:
    """London leaves BST on Sun 2026-10-25, New York leaves EDT on Sun 2026-11-01."""
    db = open_db(tmp_path / "autumn.db")
    daily_chat(db, "ny", "08:30", "America/New_York")
    daily_chat(db, "london", "07:15", "Europe/London")
    fired = run_every_minute(db, utc(2026, 10, 23, 0, 0), utc(2026, 10, 26, 12, 0))
    fired += run_every_minute(db, utc(2026, 10, 30, 0, 0), utc(2026, 11, 2, 18, 0))
    assert fired == [
        ("2026-10-23T06:15:00Z", 1),  # London Friday, BST
        ("2026-10-23T12:30:00Z", 1),  # New York Friday, EDT
        ("2026-10-26T07:15:00Z", 1),  # London Monday, GMT
        ("2026-10-30T07:15:00Z", 1),  # London Friday, GMT
        ("2026-10-30T12:30:00Z", 1),  # New York Friday, EDT
        ("2026-11-02T07:15:00Z", 1),  # London Monday
        ("2026-11-02T13:30:00Z", 1),  # New York Monday, EST
    ]


def test_a_time_skipped_by_the_spring_change_is_sent_once_just_after(tmp_path: Path) -> None:
    # 02:30 does not exist in New York on 2026-03-08: clocks go from 01:59 EST to 03:00 EDT (07:00 UTC).
    db = open_db(tmp_path / "gap.db")
    daily_chat(db, "night-owl", "02:30", "America/New_York", weekends=True)
    assert run_every_minute(db, utc(2026, 3, 7, 12, 0), utc(2026, 3, 9, 12, 0)) == [
        ("2026-03-08T07:00:00Z", 1),
        ("2026-03-09T06:30:00Z", 1),
    ]


def test_a_time_repeated_by_the_autumn_change_is_sent_once(tmp_path: Path) -> None:
    # 01:30 happens twice in New York on 2026-11-01: 05:30 UTC (EDT) and 06:30 UTC (EST).
    db = open_db(tmp_path / "fold.db")
    daily_chat(db, "night-owl", "01:30", "America/New_York", weekends=True)
    assert run_every_minute(db, utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 12, 0)) == [
        ("2026-11-01T05:30:00Z", 1)
    ]
    assert outbox(db) == [("night-owl", "daily:2026-11-01:America/New_York:01:30", "2026-11-01T05:30:00Z")]


def test_changing_the_zone_starts_a_new_schedule_without_repeating_the_old_one(tmp_path: Path) -> None:
    db = open_db(tmp_path / "move.db")
    chat = daily_chat(db, "traveller", "08:30", "America/New_York")
    assert enqueue_summaries(db, utc(2026, 3, 9, 12, 30)) == 1
    subscribe(db, chat, "daily", now="2026-03-09T13:00:00Z", daily_time="07:15", tz="Europe/London")
    assert run_every_minute(db, utc(2026, 3, 9, 13, 0), utc(2026, 3, 10, 12, 0)) == [
        ("2026-03-10T07:15:00Z", 1)
    ]


def test_summaries_survive_a_restart_without_repeating(tmp_path: Path) -> None:
    path = tmp_path / "restart.db"
    first = open_db(path)
    daily_chat(first, "ny", "08:30", "America/New_York")
    assert enqueue_summaries(first, utc(2026, 3, 9, 12, 30)) == 1
    first.close()
    second = open_db(path)
    assert run_every_minute(second, utc(2026, 3, 9, 12, 30), utc(2026, 3, 9, 16, 0)) == []
    assert len(outbox(second)) == 1
    second.close()


# ---------------------------------------------------------------------------------------------------------
# The minute job's cost: one indexed read whatever the number of subscribers, no no-op writes
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "time", "day", "expected"),
    [
        ("America/New_York", "08:30", date(2026, 3, 6), utc(2026, 3, 6, 13, 30)),  # EST
        ("America/New_York", "08:30", date(2026, 3, 9), utc(2026, 3, 9, 12, 30)),  # EDT
        ("America/New_York", "02:30", date(2026, 3, 8), utc(2026, 3, 8, 7, 0)),  # skipped: end of the gap
        ("America/New_York", "01:30", date(2026, 11, 1), utc(2026, 11, 1, 5, 30)),  # repeated: the first
        ("Europe/London", "07:15", date(2026, 3, 30), utc(2026, 3, 30, 6, 15)),  # BST
        ("Asia/Taipei", "08:30", date(2026, 3, 9), utc(2026, 3, 9, 0, 30)),
    ],
)
def test_due_at_is_the_first_minute_due_date_says_due(
    tz: str, time: str, day: date, expected: datetime
) -> None:
    subscription = sub(time, tz, weekends=True)
    assert due_at(subscription, day) == expected
    assert due_date(subscription, expected) == day
    assert due_date(subscription, expected - timedelta(minutes=1)) != day


def _statements(db: sqlite_utils.Database, now: datetime) -> list[str]:
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    try:
        enqueue_summaries(db, now)
    finally:
        db.conn.set_trace_callback(None)
    return seen


@pytest.mark.parametrize("subscribers", [10, 1000])
def test_a_quiet_minute_is_one_read_at_any_number_of_subscribers(tmp_path: Path, subscribers: int) -> None:
    db = open_db(tmp_path / "many.db")
    for n in range(subscribers):
        daily_chat(db, f"ny-{n}", "08:30", "America/New_York")
    # The first look after subscribing stores each one's next time; from then on a quiet minute is one read.
    assert enqueue_summaries(db, utc(2026, 3, 9, 11, 0)) == 0
    for minute in (utc(2026, 3, 9, 11, 1), utc(2026, 3, 9, 12, 29)):
        statements = _statements(db, minute)
        assert len(statements) == 1 and statements[0].startswith("SELECT"), statements
    assert enqueue_summaries(db, utc(2026, 3, 9, 12, 30)) == subscribers


def test_minutes_after_the_send_write_nothing(feb: sqlite_utils.Database) -> None:
    daily_chat(feb, "ny-1", "08:30", "America/New_York")
    daily_chat(feb, "ny-2", "08:30", "America/New_York")
    assert enqueue_summaries(feb, utc(2026, 2, 19, 13, 30)) == 2
    # Inside the three-hour late window the summary is still "due" by the clock, yet nothing is re-inserted.
    for minute in range(1, 180, 7):
        statements = _statements(feb, utc(2026, 2, 19, 13, 30) + timedelta(minutes=minute))
        assert [s.split()[0] for s in statements] == ["SELECT"], statements


def test_unmuting_inside_the_window_sends_todays(feb: sqlite_utils.Database) -> None:
    chat = daily_chat(feb, "ny", "08:30", "America/New_York")
    set_muted_until(feb, chat, "2026-02-19T20:00:00Z")  # past the late window: today is skipped
    assert run_every_minute(feb, utc(2026, 2, 19, 13, 0), utc(2026, 2, 19, 14, 0)) == []
    set_muted_until(feb, chat, None)  # /unmute at 09:01 ET
    assert enqueue_summaries(feb, utc(2026, 2, 19, 14, 1)) == 1


def test_a_chat_that_comes_back_gets_its_summary_and_a_gone_one_is_not_read(
    feb: sqlite_utils.Database,
) -> None:
    chat = daily_chat(feb, "back", "08:30", "America/New_York")
    deactivate_chat(feb, chat, "Forbidden: bot was blocked by the user")
    assert enqueue_summaries(feb, utc(2026, 2, 19, 13, 30)) == 0
    assert feb.execute("SELECT next_daily_at FROM subscriptions WHERE chat_id = ?", (chat,)).fetchone() == (
        None,
    )
    ensure_chat(feb, "telegram", "back", title="", is_group=False, now="2026-02-19T13:40:00Z")
    assert enqueue_summaries(feb, utc(2026, 2, 19, 13, 41)) == 1
