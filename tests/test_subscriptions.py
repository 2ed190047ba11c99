"""Subscriptions and alert settings through the command table: who may change them, what is stored, what
every bad argument is told, and that it all survives a restart."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.clock import iso_utc, parse_iso_utc
from bot.words.messages import t
from bot.words.reply import Button, Context, Reply, Text
from handlers.subscription_commands import MUTE_USAGE, SUBSCRIBE_USAGE, THRESHOLD_USAGE, UNSUBSCRIBE_USAGE
from handlers.table import COMMANDS, MAX_COMMAND_LENGTH, dispatch, parse_command, run_command
from storage.chats import alert_targets, daily_subscribers, deactivate_chat, get_chat
from storage.db import open_db
from tests.seed import SCENARIOS

NOW = SCENARIOS["srf_feb_2026"].now  # Thu 2026-02-19 08:35 ET = 13:35 UTC
assert datetime(2026, 2, 19, 13, 35, tzinfo=UTC) == NOW

PRIVATE = "1001"
GROUP = "-1002003004005"
NEED_ADMIN = "Only this chat's administrators can change its subscriptions."
NEED_ADMIN_DISCORD = "You need the Manage Channels permission to change this channel's subscriptions."
INTERNAL = t("error.internal")

Row = tuple[object, ...]


def ctx(
    chat_id: str = PRIVATE,
    *,
    platform: str = "telegram",
    group: bool = False,
    admin: bool = True,
    now: datetime = NOW,
) -> Context:
    return Context(
        platform,  # type: ignore[arg-type]
        chat_id,
        "42",
        now,
        is_group=group,
        is_chat_admin=admin,
        bot_username="plumbline_test_bot",
        chat_title="Rates desk" if group else "",
    )


def send(db: sqlite_utils.Database, line: str, context: Context | None = None) -> Reply:
    reply = dispatch(line, context or ctx(), db)
    assert reply is not None, line
    return reply


def call(db: sqlite_utils.Database, name: str, args: list[str], context: Context | None = None) -> Reply:
    """Through dispatch when the arguments can be typed as one line, else straight into the table's runner
    (empty or blank arguments, which only a platform's option fields can produce)."""
    line = f"/{name} " + " ".join(args)
    typable = all(a and a == "".join(a.split()) for a in args) and len(line) <= MAX_COMMAND_LENGTH
    if typable:
        return send(db, line, context)
    return run_command(COMMANDS[name], args, context or ctx(), db)


def subs(db: sqlite_utils.Database) -> list[Row]:
    return [
        tuple(r)
        for r in db.execute(
            "SELECT c.platform, c.address, s.kind, s.daily_time, s.tz, s.weekends FROM subscriptions s "
            "JOIN chats c ON c.id = s.chat_id ORDER BY c.platform, c.address, s.kind"
        ).fetchall()
    ]


def chats(db: sqlite_utils.Database) -> list[Row]:
    return [
        tuple(r)
        for r in db.execute(
            "SELECT platform, address, is_group, active, srf_threshold, near_bp, muted_until FROM chats "
            "ORDER BY platform, address"
        ).fetchall()
    ]


def state(db: sqlite_utils.Database) -> tuple[list[Row], list[Row]]:
    return chats(db), subs(db)


def settings_lines(reply: Reply) -> list[str]:
    assert len(reply.blocks) == 1
    block = reply.blocks[0]
    assert isinstance(block, Text)
    return block.text.split("\n")


def usage(text: str) -> str:
    return f"Usage: {text}"


# ---------------------------------------------------------------------------------------------------------
# Who may subscribe
# ---------------------------------------------------------------------------------------------------------


def test_the_table_marks_exactly_the_commands_that_change_subscriptions() -> None:
    changing = {c.name for c in COMMANDS.values() if c.changes_subscriptions}
    assert changing == {"subscribe", "unsubscribe", "threshold", "mute", "lang"}


def test_subscribe_alerts_in_a_private_chat(db: sqlite_utils.Database) -> None:
    reply = send(db, "/subscribe alerts")
    assert reply.level == "calm"
    assert reply.title == (
        "\U0001f514 Alerts on for this chat: SOFR above the ceiling, SRF take-up above zero, "
        "FOMC range changes."
    )
    assert subs(db) == [("telegram", PRIVATE, "alerts", None, None, 0)]
    assert chats(db) == [("telegram", PRIVATE, 0, 1, 0.0, None, None)]
    assert [a.chat_id for a in alert_targets(db, iso_utc(NOW))] == [get_chat(db, "telegram", PRIVATE).id]


def test_subscribe_alerts_twice_keeps_one_subscription(db: sqlite_utils.Database) -> None:
    send(db, "/subscribe alerts")
    send(db, "/subscribe@plumbline_test_bot ALERTS")
    assert subs(db) == [("telegram", PRIVATE, "alerts", None, None, 0)]


def test_subscribe_alerts_in_a_group_by_an_administrator(db: sqlite_utils.Database) -> None:
    reply = send(db, "/subscribe alerts", ctx(GROUP, group=True, admin=True))
    assert reply.level == "calm"
    assert subs(db) == [("telegram", GROUP, "alerts", None, None, 0)]
    assert chats(db) == [("telegram", GROUP, 1, 1, 0.0, None, None)]


@pytest.mark.parametrize(
    "line",
    [
        "/subscribe alerts",
        "/subscribe daily",
        "/subscribe daily 07:15 Europe/London weekends",
        "/unsubscribe",
        "/unsubscribe all",
        "/threshold srf 5B",
        "/threshold near 3bp",
        "/mute 6h",
        "/mute off",
    ],
)
def test_a_non_admin_in_a_group_is_told_why_and_nothing_is_stored(
    db: sqlite_utils.Database, line: str
) -> None:
    reply = send(db, line, ctx(GROUP, group=True, admin=False))
    assert reply.level == "error"
    assert reply.title == NEED_ADMIN
    assert state(db) == ([], [])


@pytest.mark.parametrize(
    "line", ["/unsubscribe all", "/threshold srf 25B", "/threshold near off", "/mute 2d", "/subscribe daily"]
)
def test_a_non_admin_cannot_undo_what_an_admin_set(db: sqlite_utils.Database, line: str) -> None:
    admin = ctx(GROUP, group=True, admin=True)
    for setup in ("/subscribe alerts", "/subscribe daily 07:00 Asia/Taipei", "/threshold near 2bp"):
        assert send(db, setup, admin).level == "calm"
    before = state(db)
    reply = send(db, line, ctx(GROUP, group=True, admin=False))
    assert (reply.level, reply.title) == ("error", NEED_ADMIN)
    assert state(db) == before


def test_on_discord_the_refusal_names_the_manage_channels_permission(db: sqlite_utils.Database) -> None:
    reply = send(
        db, "/subscribe alerts", ctx("998877665544332211", platform="discord", group=True, admin=False)
    )
    assert reply.level == "error"
    assert reply.title == NEED_ADMIN_DISCORD
    assert "Manage Channels" in reply.title
    assert state(db) == ([], [])


def test_on_discord_a_channel_manager_may_subscribe(db: sqlite_utils.Database) -> None:
    reply = send(db, "/subscribe alerts", ctx("998877665544332211", platform="discord", group=True))
    assert reply.level == "calm"
    assert subs(db) == [("discord", "998877665544332211", "alerts", None, None, 0)]


def test_a_non_admin_may_still_read_the_settings(db: sqlite_utils.Database) -> None:
    send(db, "/subscribe alerts", ctx(GROUP, group=True))
    reply = send(db, "/settings", ctx(GROUP, group=True, admin=False))
    assert reply.level == "info"
    assert settings_lines(reply)[0] == "Alerts: on"


def test_a_deactivated_chat_that_subscribes_again_is_active_again(db: sqlite_utils.Database) -> None:
    send(db, "/subscribe alerts")
    chat = get_chat(db, "telegram", PRIVATE)
    assert chat is not None
    deactivate_chat(db, chat.id, "Forbidden: bot was blocked by the user")
    assert alert_targets(db, iso_utc(NOW)) == []
    send(db, "/subscribe alerts")
    assert [a.chat_id for a in alert_targets(db, iso_utc(NOW))] == [chat.id]


# ---------------------------------------------------------------------------------------------------------
# /subscribe daily
# ---------------------------------------------------------------------------------------------------------


def test_subscribe_daily_defaults_to_half_past_eight_new_york_on_weekdays(db: sqlite_utils.Database) -> None:
    reply = send(db, "/subscribe daily")
    assert reply.level == "calm"
    assert reply.title == "\u2600\ufe0f Daily summary at 08:30 America/New_York, weekdays only."
    assert subs(db) == [("telegram", PRIVATE, "daily", "08:30", "America/New_York", 0)]


def test_subscribe_daily_at_a_london_time(db: sqlite_utils.Database) -> None:
    reply = send(db, "/subscribe daily 07:15 Europe/London")
    assert reply.title == "\u2600\ufe0f Daily summary at 07:15 Europe/London, weekdays only."
    assert subs(db) == [("telegram", PRIVATE, "daily", "07:15", "Europe/London", 0)]


def test_subscribe_daily_with_weekends(db: sqlite_utils.Database) -> None:
    reply = send(db, "/subscribe daily weekends")
    assert reply.title == "\u2600\ufe0f Daily summary at 08:30 America/New_York."
    assert subs(db) == [("telegram", PRIVATE, "daily", "08:30", "America/New_York", 1)]


@pytest.mark.parametrize(
    "args",
    [
        "7:05 Asia/Taipei weekends",
        "Asia/Taipei 07:05 weekends",
        "weekends Asia/Taipei 07:05",
        "07:05 weekends Asia/Taipei",
        "WEEKENDS 7:05 Asia/Taipei",
    ],
)
def test_subscribe_daily_arguments_in_any_order(db: sqlite_utils.Database, args: str) -> None:
    reply = send(db, f"/subscribe DAILY {args}")
    assert reply.level == "calm"
    assert reply.title == "\u2600\ufe0f Daily summary at 07:05 Asia/Taipei."
    assert subs(db) == [("telegram", PRIVATE, "daily", "07:05", "Asia/Taipei", 1)]


def test_zone_names_are_case_sensitive_and_a_lower_case_one_is_refused(db: sqlite_utils.Database) -> None:
    reply = send(db, "/subscribe daily 07:05 asia/taipei")
    assert reply.level == "error"
    assert reply.title == usage(t("sub.bad_zone", value="asia/taipei"))
    assert subs(db) == []


def test_subscribe_daily_again_replaces_the_schedule(db: sqlite_utils.Database) -> None:
    send(db, "/subscribe daily 07:15 Europe/London weekends")
    send(db, "/subscribe daily 18:00 Asia/Taipei")
    assert subs(db) == [("telegram", PRIVATE, "daily", "18:00", "Asia/Taipei", 0)]


@pytest.mark.parametrize(
    "zone",
    ["UTC", "Etc/GMT+5", "America/Argentina/Buenos_Aires", "Asia/Kolkata", "Australia/Lord_Howe"],
)
def test_subscribe_daily_accepts_real_iana_zones(db: sqlite_utils.Database, zone: str) -> None:
    reply = send(db, f"/subscribe daily 06:45 {zone}")
    assert reply.level == "calm"
    assert subs(db) == [("telegram", PRIVATE, "daily", "06:45", zone, 0)]


@pytest.mark.parametrize(
    "value", ["25:00", "24:00", "12:60", "8:5", "08:30:00", "-1:00", ":30", "08:", "99:99"]
)
def test_invalid_times_get_a_clear_message_and_nothing_is_stored(
    db: sqlite_utils.Database, value: str
) -> None:
    reply = send(db, f"/subscribe daily {value} Europe/London")
    assert reply.level == "error"
    assert reply.title == usage(f"'{value}' is not a time. Use 24-hour HH:MM, e.g. 08:30.")
    assert subs(db) == []


@pytest.mark.parametrize("value", ["8.30", "0830", "830", "8h30"])
def test_a_time_written_without_a_colon_is_called_a_time_not_a_zone(
    db: sqlite_utils.Database, value: str
) -> None:
    # A trader who types 0830 or 8.30 meant a time; telling them it "is not a time zone" misleads.
    reply = send(db, f"/subscribe daily {value}")
    assert reply.level == "error"
    assert reply.title == usage(f"'{value}' is not a time. Use 24-hour HH:MM, e.g. 08:30.")
    assert subs(db) == []


def test_a_time_with_non_ascii_digits_is_refused_not_stored_mangled(db: sqlite_utils.Database) -> None:
    # "08:3\u0660" (ARABIC-INDIC DIGIT ZERO): the minute must be stored as the ASCII "30" or refused.
    reply = send(db, "/subscribe daily 08:3\u0660")
    assert reply.level == "error"
    assert subs(db) == []


def test_an_empty_time_is_refused(db: sqlite_utils.Database) -> None:
    reply = call(db, "subscribe", ["daily", ""])
    assert reply.level == "error"
    assert reply.title.startswith("Usage: '' is not a ")
    assert reply.title != INTERNAL
    assert subs(db) == []


@pytest.mark.parametrize(
    "zone",
    [
        "Mars/Olympus",
        "../../etc/passwd",
        "/etc/passwd",
        "EST5EDT;DROP",
        "Europe/Z\u00fcrich",
        "Asia/\u6771\u4eac",
        "America/New_York\u200b",
        "\u202eAmerica/New_York",
        "America//New_York",
        "America/New_York/",
        "Etc/GMT+99",
        "<b>UTC</b>",
        "{tz}",
        "A" * 65,
    ],
)
def test_invalid_zones_get_a_clear_message_and_nothing_is_stored(
    db: sqlite_utils.Database, zone: str
) -> None:
    reply = send(db, f"/subscribe daily 08:30 {zone}")
    assert reply.level == "error"
    assert reply.title == usage(t("sub.bad_zone", value=zone[:40]))
    assert reply.title.endswith(
        "is not a time zone. Use an IANA name such as America/New_York, Europe/London or Asia/Taipei."
    )
    assert subs(db) == []


@pytest.mark.parametrize("zone", ["America", "Europe", "Asia", "Etc", "US"])
def test_a_zone_region_without_a_city_gets_the_zone_message_not_an_internal_error(
    db: sqlite_utils.Database, zone: str
) -> None:
    # ZoneInfo("America") raises IsADirectoryError (tzdata has a folder by that name), which parse_zone
    # does not catch: the user gets "something went wrong on our side" instead of the zone message.
    reply = send(db, f"/subscribe daily 08:30 {zone}")
    assert reply.level == "error"
    assert reply.title == usage(t("sub.bad_zone", value=zone))
    assert subs(db) == []


def test_a_500_character_zone_is_refused_whether_typed_or_sent_as_an_option(
    db: sqlite_utils.Database,
) -> None:
    zone = "Z" * 500
    typed = send(db, f"/subscribe daily 08:30 {zone}")
    assert (typed.level, typed.title) == ("error", "That message is too long to be a command.")
    option = run_command(COMMANDS["subscribe"], ["daily", "08:30", zone], ctx(), db)
    assert option.level == "error"
    assert option.title == usage(
        f"'{'Z' * 40}' is not a time zone. Use an IANA name such as America/New_York, Europe/London or "
        "Asia/Taipei."
    )
    assert subs(db) == []


@pytest.mark.parametrize(
    "args",
    [
        "08:30 Europe/London weekends extra",
        "08:30 Europe/London weekends weekends",
        "a b c d",
    ],
)
def test_too_many_daily_arguments_show_the_usage(db: sqlite_utils.Database, args: str) -> None:
    reply = send(db, f"/subscribe daily {args}")
    assert (reply.level, reply.title) == ("error", usage(SUBSCRIBE_USAGE))
    assert subs(db) == []


@pytest.mark.parametrize("args", ["08:30 17:00", "Europe/London Asia/Taipei"])
def test_two_times_or_two_zones_are_refused_not_silently_last_wins(
    db: sqlite_utils.Database, args: str
) -> None:
    # "/subscribe daily 08:30 17:00" reads like two summaries; storing only 17:00 drops one without asking.
    reply = send(db, f"/subscribe daily {args}")
    assert (reply.level, reply.title) == ("error", usage(SUBSCRIBE_USAGE))
    assert subs(db) == []


@pytest.mark.parametrize(
    "line", ["/subscribe", "/subscribe daly", "/subscribe alerts now", "/subscribe news"]
)
def test_subscribe_without_a_valid_kind_shows_the_usage(db: sqlite_utils.Database, line: str) -> None:
    reply = send(db, line)
    assert (reply.level, reply.title) == ("error", usage(SUBSCRIBE_USAGE))
    assert subs(db) == []


# ---------------------------------------------------------------------------------------------------------
# /unsubscribe
# ---------------------------------------------------------------------------------------------------------


def both(db: sqlite_utils.Database, chat: str = PRIVATE) -> None:
    assert send(db, "/subscribe alerts", ctx(chat)).level == "calm"
    assert send(db, "/subscribe daily 07:15 Europe/London", ctx(chat)).level == "calm"


def test_unsubscribe_alerts_keeps_the_daily_summary(db: sqlite_utils.Database) -> None:
    both(db)
    reply = send(db, "/unsubscribe alerts")
    assert (reply.level, reply.title) == ("info", "Unsubscribed from alerts.")
    assert subs(db) == [("telegram", PRIVATE, "daily", "07:15", "Europe/London", 0)]
    assert alert_targets(db, iso_utc(NOW)) == []


def test_unsubscribe_daily_keeps_alerts(db: sqlite_utils.Database) -> None:
    both(db)
    reply = send(db, "/unsubscribe daily")
    assert (reply.level, reply.title) == ("info", "Unsubscribed from daily.")
    assert subs(db) == [("telegram", PRIVATE, "alerts", None, None, 0)]
    assert daily_subscribers(db) == []


@pytest.mark.parametrize("line", ["/unsubscribe all", "/unsubscribe", "/unsubscribe ALL"])
def test_unsubscribe_all_removes_both_and_only_in_this_chat(db: sqlite_utils.Database, line: str) -> None:
    both(db)
    both(db, "2002")
    reply = send(db, line)
    assert (reply.level, reply.title) == ("info", "Unsubscribed from all.")
    assert subs(db) == [
        ("telegram", "2002", "alerts", None, None, 0),
        ("telegram", "2002", "daily", "07:15", "Europe/London", 0),
    ]


@pytest.mark.parametrize("what", ["alerts", "daily", "all"])
def test_unsubscribe_when_nothing_was_subscribed(db: sqlite_utils.Database, what: str) -> None:
    reply = send(db, f"/unsubscribe {what}")
    assert reply.level == "info"
    assert reply.title == t("sub.nothing", what=what)
    assert subs(db) == []


def test_unsubscribe_alerts_when_only_daily_was_subscribed(db: sqlite_utils.Database) -> None:
    send(db, "/subscribe daily")
    reply = send(db, "/unsubscribe alerts")
    assert reply.title == "This chat was not subscribed to alerts."
    assert subs(db) == [("telegram", PRIVATE, "daily", "08:30", "America/New_York", 0)]


# ---------------------------------------------------------------------------------------------------------
# /threshold
# ---------------------------------------------------------------------------------------------------------


def srf_threshold(db: sqlite_utils.Database, chat: str = PRIVATE) -> float:
    found = get_chat(db, "telegram", chat)
    assert found is not None
    return found.srf_threshold


def near_bp(db: sqlite_utils.Database, chat: str = PRIVATE) -> float | None:
    found = get_chat(db, "telegram", chat)
    assert found is not None
    return found.near_bp


def test_threshold_srf_5b(db: sqlite_utils.Database) -> None:
    reply = send(db, "/threshold srf 5B")
    assert (reply.level, reply.title) == ("calm", "SRF alerts now fire when take-up exceeds $5.0B.")
    assert srf_threshold(db) == 5.0
    send(db, "/subscribe alerts")
    assert [(a.srf_threshold, a.near_bp) for a in alert_targets(db, iso_utc(NOW))] == [(5.0, None)]


@pytest.mark.parametrize(("value", "stored"), [("0.5B", 0.5), ("500M", 0.5), ("0.5b", 0.5), ("500m", 0.5)])
def test_threshold_srf_half_a_billion_in_either_unit(
    db: sqlite_utils.Database, value: str, stored: float
) -> None:
    reply = send(db, f"/threshold srf {value}")
    assert reply.level == "calm"
    assert reply.title.startswith("SRF alerts now fire when take-up exceeds $0.5")
    assert srf_threshold(db) == stored


@pytest.mark.parametrize(("value", "stored"), [("0", 0.0), ("0B", 0.0), ("25", 25.0), ("9999B", 9999.0)])
def test_threshold_srf_plain_numbers_are_billions(
    db: sqlite_utils.Database, value: str, stored: float
) -> None:
    send(db, "/threshold srf 7B")
    reply = send(db, f"/threshold srf {value}")
    assert reply.level == "calm"
    assert srf_threshold(db) == stored


@pytest.mark.parametrize(("value", "shown"), [("1M", "$0.001B"), ("50M", "$0.050B"), ("250M", "$0.250B")])
def test_a_threshold_under_a_billion_is_confirmed_with_its_real_size(
    db: sqlite_utils.Database, value: str, shown: str
) -> None:
    # usd_bn(amount, 1) rounds $1M to "$0.0B" and $50M to "$0.1B": the confirmation misstates the threshold.
    reply = send(db, f"/threshold srf {value}")
    assert reply.level == "calm"
    assert shown in reply.title
    assert shown in settings_lines(send(db, "/settings"))[2]


@pytest.mark.parametrize(
    "value", ["-1", "5T", "abc", "1e9", "5BB", ".5B", "5,000B", "NaN", "inf", "10000B", "0x10"]
)
def test_bad_srf_amounts_are_refused_and_the_threshold_kept(db: sqlite_utils.Database, value: str) -> None:
    send(db, "/threshold srf 2B")
    reply = send(db, f"/threshold srf {value}")
    assert reply.level == "error"
    assert reply.title == usage(f"'{value}' is not an amount. Use billions, e.g. 5B, 0.5B or 0.")
    assert srf_threshold(db) == 2.0


@pytest.mark.parametrize(("value", "stored"), [("3bp", 3.0), ("3", 3.0), ("3BPS", 3.0), ("100bp", 100.0)])
def test_threshold_near(db: sqlite_utils.Database, value: str, stored: float) -> None:
    reply = send(db, f"/threshold near {value}")
    assert reply.level == "calm"
    assert reply.title == f"You will be told when SOFR comes within {stored:g} bp of the ceiling."
    assert near_bp(db) == stored


def test_threshold_near_off(db: sqlite_utils.Database) -> None:
    send(db, "/threshold near 3bp")
    reply = send(db, "/threshold near off")
    assert (reply.level, reply.title) == ("calm", "Near-ceiling alerts are off.")
    assert near_bp(db) is None


def test_a_half_basis_point_distance_is_confirmed_as_half_a_basis_point(db: sqlite_utils.Database) -> None:
    # bp() rounds to whole basis points, so 0.5 is confirmed as "within 0 bp" (and 2.5 as "2 bp").
    reply = send(db, "/threshold near 0.5bp")
    assert near_bp(db) == 0.5
    assert reply.title == "You will be told when SOFR comes within 0.5 bp of the ceiling."


@pytest.mark.parametrize("value", ["0bp", "0", "150bp", "100.5", "-3bp", "3pb", "3%", "nan", "1000"])
def test_bad_near_distances_are_refused_and_the_setting_kept(db: sqlite_utils.Database, value: str) -> None:
    send(db, "/threshold near 4bp")
    reply = send(db, f"/threshold near {value}")
    assert reply.level == "error"
    assert reply.title == usage(f"'{value}' is not a distance. Use basis points, e.g. 3bp (or off).")
    assert near_bp(db) == 4.0


@pytest.mark.parametrize(
    "line", ["/threshold", "/threshold srf", "/threshold 5B", "/threshold srf 5B 6B", "/threshold sofr 5B"]
)
def test_threshold_with_the_wrong_shape_shows_the_usage(db: sqlite_utils.Database, line: str) -> None:
    reply = send(db, line)
    assert (reply.level, reply.title) == ("error", usage(THRESHOLD_USAGE))
    assert state(db) == ([], [])


# ---------------------------------------------------------------------------------------------------------
# /mute
# ---------------------------------------------------------------------------------------------------------


def muted_until(db: sqlite_utils.Database) -> str | None:
    found = get_chat(db, "telegram", PRIVATE)
    assert found is not None
    return found.muted_until


@pytest.mark.parametrize(
    ("value", "until"),
    [
        ("6h", "2026-02-19T19:35:00Z"),
        ("30m", "2026-02-19T14:05:00Z"),
        ("2d", "2026-02-21T13:35:00Z"),
        ("30d", "2026-03-21T13:35:00Z"),
        ("720h", "2026-03-21T13:35:00Z"),
        ("6H", "2026-02-19T19:35:00Z"),
    ],
)
def test_mute_for_a_while(db: sqlite_utils.Database, value: str, until: str) -> None:
    send(db, "/subscribe alerts")
    reply = send(db, f"/mute {value}")
    assert reply.level == "calm"
    shown = until.replace("T", " ")[:16]
    assert reply.title == f"\U0001f515 Alerts and summaries paused until {shown} UTC."
    assert muted_until(db) == until
    assert alert_targets(db, iso_utc(NOW)) == []
    later = parse_iso_utc(until)
    assert alert_targets(db, iso_utc(later - timedelta(seconds=1))) == []
    assert len(alert_targets(db, until)) == 1


def test_mute_off_resumes(db: sqlite_utils.Database) -> None:
    send(db, "/subscribe alerts")
    send(db, "/mute 6h")
    reply = send(db, "/mute off")
    assert (reply.level, reply.title) == ("calm", "\U0001f514 Alerts and summaries resumed.")
    assert muted_until(db) is None
    assert len(alert_targets(db, iso_utc(NOW))) == 1


@pytest.mark.parametrize(
    "value",
    ["31d", "721h", "43201m", "9999d", "0h", "0m", "0d", "-6h", "6", "h", "6w", "1.5h", "1d12h", "forever"],
)
def test_bad_mute_durations_are_refused_and_nothing_changes(db: sqlite_utils.Database, value: str) -> None:
    send(db, "/mute 2d")
    reply = send(db, f"/mute {value}")
    assert reply.level == "error"
    assert reply.title == usage(f"'{value}' is not a duration. Use e.g. 30m, 6h, 2d (at most 30d), or off.")
    assert muted_until(db) == "2026-02-21T13:35:00Z"


@pytest.mark.parametrize("line", ["/mute", "/mute 6h 2h", "/mute off now"])
def test_mute_with_the_wrong_shape_shows_the_usage(db: sqlite_utils.Database, line: str) -> None:
    reply = send(db, line)
    assert (reply.level, reply.title) == ("error", usage(MUTE_USAGE))


# ---------------------------------------------------------------------------------------------------------
# /settings
# ---------------------------------------------------------------------------------------------------------


def test_settings_of_a_new_chat(db: sqlite_utils.Database) -> None:
    reply = send(db, "/settings")
    assert reply.level == "info"
    assert reply.title == "Settings for this chat"
    assert settings_lines(reply) == [
        "Alerts: off",
        "Daily summary: off",
        "SRF threshold: zero",
        "Near-ceiling alert: off",
        "Weak-auction alerts: off",
    ]
    assert reply.buttons == [
        [
            Button("\U0001f514 Alerts on", "/subscribe alerts"),
            Button("\u2600\ufe0f Daily 08:30 NY", "/subscribe daily 08:30 America/New_York"),
        ],
        [Button("Mute 6h", "/mute 6h")],
    ]


def test_settings_reflect_everything(db: sqlite_utils.Database) -> None:
    for line in (
        "/subscribe alerts",
        "/subscribe daily 07:15 Europe/London",
        "/threshold srf 5B",
        "/threshold near 3bp",
        "/mute 6h",
    ):
        assert send(db, line).level == "calm", line
    reply = send(db, "/settings")
    assert settings_lines(reply) == [
        "Alerts: on",
        "Daily summary: 07:15 Europe/London, weekdays only",
        "SRF threshold: $5.0B",
        "Near-ceiling alert: 3 bp",
        "Weak-auction alerts: off",
        "Muted until: 2026-02-19 19:35:00 UTC",
    ]
    assert reply.buttons == [
        [
            Button("\U0001f515 Alerts off", "/unsubscribe alerts"),
            Button("Daily off", "/unsubscribe daily"),
        ],
        [Button("Unmute", "/mute off")],
    ]
    # Six hours later the mute has run out: no mute line, and the button mutes again.
    after = send(db, "/settings", ctx(now=NOW + timedelta(hours=6)))
    assert [line for line in settings_lines(after) if line.startswith("Near")] == ["Near-ceiling alert: 3 bp"]
    assert after.buttons[1] == [Button("Mute 6h", "/mute 6h")]


def test_settings_show_a_weekend_schedule_without_the_weekday_note(db: sqlite_utils.Database) -> None:
    send(db, "/subscribe daily 06:00 Asia/Taipei weekends")
    assert settings_lines(send(db, "/settings"))[1] == "Daily summary: 06:00 Asia/Taipei"


def test_every_settings_button_runs_a_valid_command(db: sqlite_utils.Database) -> None:
    """Press every button in both states: each is a known command and succeeds, and flips its own state."""
    seen: set[str] = set()
    for _ in range(2):
        reply = send(db, "/settings")
        for row in reply.buttons:
            for button in row:
                parsed = parse_command(button.command)
                assert parsed is not None and parsed.name in COMMANDS, button
                pressed = send(db, button.command)
                assert pressed.level in ("calm", "info"), (button, pressed.title)
                assert pressed.title != INTERNAL
                seen.add(button.command)
    assert seen == {
        "/subscribe alerts",
        "/subscribe daily 08:30 America/New_York",
        "/mute 6h",
        "/unsubscribe alerts",
        "/unsubscribe daily",
        "/mute off",
    }
    assert subs(db) == []
    assert muted_until(db) is None


def test_settings_take_no_arguments(db: sqlite_utils.Database) -> None:
    reply = send(db, "/settings alerts")
    assert (reply.level, reply.title) == ("error", usage("/settings"))


# ---------------------------------------------------------------------------------------------------------
# A restart
# ---------------------------------------------------------------------------------------------------------


def test_subscriptions_survive_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "plumbline.db"
    first = open_db(path)
    discord = ctx("998877665544332211", platform="discord", group=True)
    group = ctx(GROUP, group=True)
    lines = [
        ("/subscribe alerts", ctx()),
        ("/subscribe daily 07:15 Europe/London weekends", ctx()),
        ("/threshold srf 0.5B", ctx()),
        ("/threshold near 2bp", ctx()),
        ("/subscribe daily 18:00 Asia/Taipei", group),
        ("/mute 2d", group),
        ("/subscribe alerts", discord),
        ("/threshold srf 25B", discord),
    ]
    for line, context in lines:
        assert send(first, line, context).level == "calm", line
    before = (state(first), [send(first, "/settings", c).plain_text() for c in (ctx(), group, discord)])
    first.close()

    second = open_db(path)
    after = (state(second), [send(second, "/settings", c).plain_text() for c in (ctx(), group, discord)])
    assert after == before
    assert subs(second) == [
        ("discord", "998877665544332211", "alerts", None, None, 0),
        ("telegram", GROUP, "daily", "18:00", "Asia/Taipei", 0),
        ("telegram", PRIVATE, "alerts", None, None, 0),
        ("telegram", PRIVATE, "daily", "07:15", "Europe/London", 1),
    ]
    assert sorted((a.srf_threshold, a.near_bp) for a in alert_targets(second, iso_utc(NOW))) == [
        (0.5, 2.0),
        (25.0, None),
    ]
    assert [(c.address, s.daily_time, s.tz, s.weekends) for c, s in daily_subscribers(second)] == [
        (PRIVATE, "07:15", "Europe/London", True),
        (GROUP, "18:00", "Asia/Taipei", False),
    ]
    second.close()


# ---------------------------------------------------------------------------------------------------------
# Hostile arguments, every subscription command
# ---------------------------------------------------------------------------------------------------------

HOSTILE: dict[str, list[list[str]]] = {
    "subscribe": [
        [],
        [""],
        ["   "],
        ["alert"],
        ["\u202edaily"],
        ["alerts", "now"],
        ["daily", "25:00"],
        ["daily", "24:00"],
        ["daily", "\x00"],
        ["daily", "08:30", "UTC", "weekends", "x"],
        ["daily", "Mars/Olympus"],
        ["daily", "../../etc/passwd"],
        ["daily", "EST5EDT;DROP"],
        ["daily", "A" * 500],
        ["daily", "Europe/Z\u00fcrich"],
        ["daily", "<b>08:30</b>"],
        ["daily", "{time}"],
        ["daily", "%s%s%n"],
        ["daily", "08:30", "'; DROP TABLE subscriptions; --"],
    ],
    "unsubscribe": [
        ["alerts", "daily"],
        ["everything"],
        ["all", "now"],
        [""],
        ["*"],
        ["alerts;DROP TABLE chats"],
        ["A" * 500],
        ["\u200balerts"],
    ],
    "threshold": [
        [],
        ["srf"],
        ["srf", "5B", "x"],
        ["foo", "5B"],
        ["srf", "-1"],
        ["srf", "5T"],
        ["srf", "abc"],
        ["srf", "1e9"],
        ["srf", "NaN"],
        ["srf", "inf"],
        ["srf", ""],
        ["srf", "9" * 500],
        ["near", "0bp"],
        ["near", "150bp"],
        ["near", "-3bp"],
        ["near", "nan"],
        ["near", ""],
        ["near", "\x00"],
        ["near", "{bp}"],
    ],
    "mute": [
        [],
        ["6h", "2h"],
        ["31d"],
        ["0h"],
        ["-6h"],
        ["6"],
        ["6w"],
        ["1.5h"],
        ["99999h"],
        ["forever"],
        [""],
        ["1d12h"],
        ["9" * 500 + "d"],
    ],
    "settings": [["x"], ["alerts", "on"], [""]],
}
HOSTILE_CASES = [(name, args) for name, table in HOSTILE.items() for args in table]


@pytest.mark.parametrize(
    ("name", "args"), HOSTILE_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(HOSTILE_CASES)]
)
def test_hostile_arguments_get_an_error_reply_with_a_usage_line(
    db: sqlite_utils.Database, name: str, args: list[str]
) -> None:
    for line in (
        "/subscribe alerts",
        "/subscribe daily 07:15 Europe/London",
        "/threshold srf 2B",
        "/mute 1h",
    ):
        assert send(db, line).level == "calm"
    before = state(db)
    reply = call(db, name, args)
    assert isinstance(reply, Reply)
    assert reply.level == "error"
    assert reply.title != INTERNAL
    # Either the command's usage or a sentence saying what was wrong and how to write it.
    assert reply.title.startswith("Usage: ") or reply.title == "That message is too long to be a command."
    assert len(reply.title) > len("Usage: ") + 8
    assert state(db) == before


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("subscribe", SUBSCRIBE_USAGE),
        ("unsubscribe", UNSUBSCRIBE_USAGE),
        ("threshold", THRESHOLD_USAGE),
        ("mute", MUTE_USAGE),
        ("settings", "/settings"),
    ],
)
def test_each_command_has_its_usage_in_the_table(name: str, text: str) -> None:
    assert COMMANDS[name].usage == text


_TOKENS = st.sampled_from(
    [
        "alerts",
        "daily",
        "all",
        "srf",
        "near",
        "off",
        "weekends",
        "08:30",
        "7:15",
        "23:59",
        "Europe/London",
        "Asia/Taipei",
        "UTC",
        "5B",
        "500M",
        "0",
        "3bp",
        "100",
        "6h",
        "30d",
        "30m",
    ]
)
_ARG = st.one_of(
    _TOKENS, st.text(max_size=24), st.from_regex(r"[0-9:.bBmMhHdD+\-/A-Za-z_]{1,12}", fullmatch=True)
)
_CANONICAL_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]", re.ASCII)


def test_random_arguments_never_crash_and_only_store_sane_settings() -> None:
    """Property: any arguments to any subscription command give a Reply, never the internal-error apology;
    an error reply carries a usage line; and whatever is stored is a setting the scheduler can use."""
    db = open_db(":memory:")
    names = ["subscribe", "unsubscribe", "threshold", "mute", "settings"]

    @settings(
        max_examples=400,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(name=st.sampled_from(names), args=st.lists(_ARG, max_size=5))
    def check(name: str, args: list[str]) -> None:
        reply = run_command(COMMANDS[name], args, ctx(), db)
        assert isinstance(reply, Reply)
        assert reply.title != INTERNAL, (name, args)
        if reply.level == "error":
            assert reply.title.startswith("Usage: "), (name, args, reply.title)
        for _, _, kind, daily_time, tz, _ in subs(db):
            if kind == "daily":
                assert isinstance(daily_time, str) and _CANONICAL_TIME.fullmatch(daily_time), daily_time
                assert isinstance(tz, str)
                ZoneInfo(tz)
        for _, _, _, _, srf, near, muted in chats(db):
            assert isinstance(srf, float) and 0.0 <= srf < 10_000.0
            assert near is None or 0.0 < float(near) <= 100.0  # type: ignore[arg-type]
            assert muted is None or parse_iso_utc(str(muted)) <= NOW + timedelta(days=30)

    check()
    db.close()


def test_subscribe_daily_weekdays_is_accepted_explicitly(db: sqlite_utils.Database) -> None:
    # Discord offers weekdays|weekends as a choice; "weekdays" is the default said out loud.
    reply = send(db, "/subscribe daily 07:15 Europe/London weekdays")
    assert reply.level == "calm"
    assert reply.title.endswith("Daily summary at 07:15 Europe/London, weekdays only.")


@pytest.mark.parametrize(
    ("zone", "iana"),
    [("EST", "America/New_York"), ("MST", "America/Denver"), ("HST", "Pacific/Honolulu"),
     ("EST5EDT", "America/New_York"), ("PST8PDT", "America/Los_Angeles")],
)  # fmt: skip
def test_a_fixed_offset_zone_is_kept_with_a_warning_naming_the_iana_zone(
    db: sqlite_utils.Database, zone: str, iana: str
) -> None:
    """`/subscribe daily 08:30 EST` was accepted silently, though EST never follows daylight saving."""
    reply = send(db, f"/subscribe daily 08:30 {zone}")
    assert reply.title == f"\u2600\ufe0f Daily summary at 08:30 {zone}, weekdays only."
    assert reply.level == "warning"
    (warning,) = [b.text for b in reply.blocks if isinstance(b, Text)]
    assert warning.startswith(f"\u26a0 {zone} is a fixed offset that never follows daylight saving")
    assert f"use /subscribe daily with {iana} instead" in warning


@pytest.mark.parametrize(
    ("zone", "iana"),
    [("PST", "America/Los_Angeles"), ("edt", "America/New_York"), ("ET", "America/New_York")],
)
def test_an_abbreviation_that_is_no_zone_names_the_iana_zone(
    db: sqlite_utils.Database, zone: str, iana: str
) -> None:
    reply = send(db, f"/subscribe daily 08:30 {zone}")
    assert reply.level == "error"
    assert f"'{zone}' is an abbreviation, not a time zone. Use {iana}" in reply.plain_text()
    assert subs(db) == []


def test_a_real_zone_gets_no_warning(db: sqlite_utils.Database) -> None:
    reply = send(db, "/subscribe daily 08:30 Asia/Taipei")
    assert reply.level == "calm" and not [b for b in reply.blocks if isinstance(b, Text)]
