"""Discord done natively: the CommandTree's synced payload, typed options, autocomplete, /settings buttons
that edit their message, and announcement channels published within Discord's 10 an hour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
import sqlite_utils

from bot.delivery.worker import DeliveryWorker, Limits
from bot.frontends.discord_bot import DiscordChannelSender, DiscordFrontend
from bot.frontends.discord_tree import suggest, to_args
from bot.words.messages import t
from bot.words.payload import reply_to_json
from bot.words.reply import Reply, Text
from handlers.table import COMMANDS
from storage.chats import ensure_chat, get_chat, subscribe, subscriptions_of
from storage.crossposts import unpublished
from storage.db import open_db
from storage.outbox import add_event, enqueue, outbox_counts
from tests.fakes.discord import FakeDiscord
from tests.seed import SCENARIOS, seeded
from tests.test_discord_e2e import ADMIN, GUILD, MACRO, MANAGE_CHANNELS, MEMBER, OTHER, drain, start_frontend

NEWS = 700000000000000050
NEAR_OFF = t("sub.threshold_near_off")
# No spacing between posts to one channel here: these tests are about publishing, not the send pace.
UNPACED = {"discord": Limits(per_second=1000.0, private_interval=0.0, group_interval=0.0)}
ZH = "zh-TW"


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.add_guild(GUILD, "Macro desk", [(MACRO, "macro"), (OTHER, "general"), (NEWS, "rates-news")])
        await fake.make_announcement_channel(NEWS)
        fake.add_member(GUILD, ADMIN, MANAGE_CHANNELS)
        fake.add_member(GUILD, MEMBER, 0)
        yield fake


@pytest.fixture
async def frontend(dc: FakeDiscord, tmp_path: Path) -> AsyncIterator[DiscordFrontend]:
    db = seeded("month_end_2025", tmp_path / "d.db")
    started = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["month_end_2025"].now)
    try:
        yield started
    finally:
        await started.stop()


def registered(dc: FakeDiscord, name: str) -> dict[str, Any]:
    return next(c for c in dc.commands if c["name"] == name)


def option(command: dict[str, Any], *path: str) -> dict[str, Any]:
    found = command
    for name in path:
        found = next(o for o in found["options"] if o["name"] == name)
    return found


# -- the synced payload -------------------------------------------------------------------------------------


async def test_synced_commands_carry_zh_tw_names_and_descriptions(
    dc: FakeDiscord, frontend: DiscordFrontend
) -> None:
    (put,) = dc.command_puts
    corridor = next(c for c in put if c["name"] == "corridor")
    assert corridor["description_localizations"] == {
        ZH: "SOFR 在利率走廊中的位置：下限、IORB、EFFR、上限、利差與研判"
    }
    chart = next(c for c in put if c["name"] == "chart")
    assert option(chart, "series")["description_localizations"] == {ZH: "要畫的數列"}
    unsubscribe = next(c for c in put if c["name"] == "unsubscribe")
    choices = option(unsubscribe, "what")["choices"]
    assert [(c["value"], c["name_localizations"]) for c in choices] == [
        ("alerts", {ZH: "警示"}),
        ("auctions", {ZH: "標售疲弱警示"}),
        ("daily", {ZH: "每日摘要"}),
        ("all", {ZH: "全部"}),
    ]
    daily = option(next(c for c in put if c["name"] == "subscribe"), "daily")
    assert daily["description_localizations"] == {ZH: "在指定當地時間接收每日摘要"}
    # every description Discord shows has its Traditional Chinese
    for command in put:
        assert ZH in command["description_localizations"], command["name"]


async def test_options_are_typed_with_subcommands_choices_and_autocomplete(
    dc: FakeDiscord, frontend: DiscordFrontend
) -> None:
    subscribe_cmd = registered(dc, "subscribe")
    assert [(o["name"], o["type"]) for o in subscribe_cmd["options"]] == [
        ("alerts", 1),
        ("auctions", 1),
        ("daily", 1),
    ]
    assert option(subscribe_cmd, "auctions")["description_localizations"] == {
        ZH: "公債標售疲弱時的警示（投標倍數偏低或交易商得標比重偏高）"
    }
    daily = option(subscribe_cmd, "daily")
    assert [(o["name"], o.get("autocomplete", False)) for o in daily["options"]] == [
        ("time", True),
        ("zone", True),
        ("days", False),
    ]
    assert [c["value"] for c in option(daily, "days")["choices"]] == ["weekdays", "weekends"]
    threshold = registered(dc, "threshold")
    amount = option(threshold, "srf", "amount")
    bp = option(threshold, "near", "bp")
    assert (amount["type"], amount["min_value"], amount["required"]) == (10, 0.0, True)  # 10: number
    assert (bp["type"], bp["min_value"], bp["max_value"]) == (10, 0.0, 100.0)
    assert option(registered(dc, "mute"), "duration")["autocomplete"] is True
    assert option(registered(dc, "help"), "command")["autocomplete"] is True
    assert [c["value"] for c in option(registered(dc, "lang"), "language")["choices"]] == ["en", "zh-TW"]
    managing = {
        n for n, c in COMMANDS.items() if (c.changes_subscriptions or c.operator_only) and not c.hidden
    }
    restricted = {c["name"] for c in dc.commands if c["default_member_permissions"] is not None}
    assert restricted == managing == {"subscribe", "unsubscribe", "threshold", "mute", "lang"}
    assert int(subscribe_cmd["default_member_permissions"]) == discord.Permissions(manage_channels=True).value


# -- typed options reach the handlers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subcommand", "options", "title", "srf", "near"),
    [
        ("srf", {"amount": 5}, "SRF alerts now fire when take-up exceeds $5.0B.", 5.0, None),
        ("srf", {"amount": 50.35}, "SRF alerts now fire when take-up exceeds $50.4B.", 50.35, None),
        ("near", {"bp": 3}, "You will be told when SOFR comes within 3 bp of the ceiling.", 0.0, 3.0),
        ("near", {"bp": 0}, NEAR_OFF, 0.0, None),
    ],
)
async def test_threshold_numbers_arrive_as_numbers(
    dc: FakeDiscord,
    frontend: DiscordFrontend,
    subcommand: str,
    options: dict[str, float],
    title: str,
    srf: float,
    near: float | None,
) -> None:
    sent = await dc.dispatch_interaction(
        "threshold", dict(options), subcommand=subcommand, user_id=ADMIN, guild_id=GUILD, channel_id=MACRO
    )
    answer = await dc.wait_for_response(sent.id, "callback")
    assert answer.data["embeds"][0]["title"] == title
    chat = get_chat(frontend.db, "discord", str(MACRO))
    assert chat is not None and (chat.srf_threshold, chat.near_bp) == (srf, near)


@pytest.mark.parametrize("what", ["alerts", "auctions", "daily"])
async def test_each_subscribe_subcommand_subscribes(
    dc: FakeDiscord, frontend: DiscordFrontend, what: str
) -> None:
    sent = await dc.dispatch_interaction(
        "subscribe", subcommand=what, user_id=ADMIN, guild_id=GUILD, channel_id=MACRO
    )
    answer = await dc.wait_for_response(sent.id, "callback")
    assert answer.data["embeds"][0]["color"] == 0x2ECC71  # calm green: done, not an error
    chat = get_chat(frontend.db, "discord", str(MACRO))
    assert chat is not None and [s.kind for s in subscriptions_of(frontend.db, chat.id)] == [what]


def test_typed_values_become_the_handlers_arguments() -> None:
    threshold = COMMANDS["threshold"]
    amount, bp = (p for p in threshold.params if p.name in ("amount", "bp"))
    assert to_args([amount], {"amount": 50.35}) == ["50.35B"]
    assert to_args([bp], {"bp": 0.0}) == ["off"] and to_args([bp], {"bp": 2.5}) == ["2.5bp"]
    sub = COMMANDS["subscribe"].params
    assert to_args(sub, {"time": "07:00", "zone": "Asia/Taipei", "days": None}) == ["07:00", "Asia/Taipei"]


async def test_an_out_of_date_command_form_gets_a_clear_message(
    dc: FakeDiscord, frontend: DiscordFrontend
) -> None:
    """A client still holding the old /subscribe (a string option, no subcommands) is told, not ignored."""
    sent = await dc.dispatch_interaction(
        "subscribe", {"what": "alerts"}, user_id=ADMIN, guild_id=GUILD, channel_id=MACRO, locale="zh-TW"
    )
    answer = await dc.wait_for_response(sent.id, "callback")
    assert answer.type == 4 and answer.data["flags"] & 64
    assert answer.data["content"] == t("error.outdated_command", "zh-TW")
    assert get_chat(frontend.db, "discord", str(MACRO)) is None  # nothing subscribed


# -- autocomplete ------------------------------------------------------------------------------------------


async def choices_for(
    dc: FakeDiscord, name: str, options: dict[str, Any], focused: str, **kwargs: Any
) -> list[tuple[str, str]]:
    sent = await dc.dispatch_interaction(
        name, options, focused=focused, guild_id=GUILD, channel_id=MACRO, **kwargs
    )
    answer = await dc.wait_for_response(sent.id, "callback")
    assert answer.type == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, no message made
    return [(c["name"], c["value"]) for c in answer.data["choices"]]


async def test_autocomplete_offers_zones_times_series_and_durations(
    dc: FakeDiscord, frontend: DiscordFrontend
) -> None:
    zones = await choices_for(dc, "subscribe", {"zone": "taip"}, "zone", subcommand="daily")
    assert zones == [("Asia/Taipei", "Asia/Taipei")]
    new_york = await choices_for(dc, "subscribe", {"zone": "new_y"}, "zone", subcommand="daily")
    assert ("America/New_York", "America/New_York") in new_york
    every = await choices_for(dc, "subscribe", {"zone": ""}, "zone", subcommand="daily")
    assert len(every) == 25
    times = await choices_for(dc, "subscribe", {"time": "8"}, "time", subcommand="daily")
    assert [v for _, v in times] == ["08:00", "08:30"]
    exact = await choices_for(dc, "subscribe", {"time": "7:45"}, "time", subcommand="daily")
    assert exact[0] == ("07:45", "07:45")
    series = await choices_for(dc, "chart", {"series": "liq"}, "series")
    assert series == [("liquidity \u2014 net liquidity", "liquidity")]
    zh = await choices_for(dc, "chart", {"series": "liq"}, "series", locale="zh-TW")
    assert zh == [("liquidity \u2014 淨流動性", "liquidity")]
    ranges = await choices_for(dc, "chart", {"series": "srf", "range": "1"}, "range")
    assert [v for _, v in ranges] == ["1m", "1y"]
    durations = await choices_for(dc, "mute", {"duration": "6"}, "duration")
    assert [v for _, v in durations] == ["6h"]
    commands = await choices_for(dc, "help", {"command": "/sub"}, "command")
    assert [v for _, v in commands][:2] == ["subscribe", "unsubscribe"]  # names first, then descriptions


def test_suggestions_put_prefixes_first_and_stop_at_25() -> None:
    names = ["America/New_York", "Europe/London", "America/Newfoundland"]
    assert [c.value for c in suggest(names, "new")] == ["America/New_York", "America/Newfoundland"]
    assert [c.value for c in suggest(names, "am")] == ["America/New_York", "America/Newfoundland"]
    assert len(suggest([f"z{n}" for n in range(40)], "")) == 25


# -- /settings buttons -------------------------------------------------------------------------------------


def buttons(message_data: dict[str, Any]) -> dict[str, str]:
    return {b["label"]: b["custom_id"] for row in message_data["components"] for b in row["components"]}


async def test_settings_buttons_edit_the_message_in_place(dc: FakeDiscord, frontend: DiscordFrontend) -> None:
    sent = await dc.dispatch_interaction("settings", user_id=ADMIN, guild_id=GUILD, channel_id=MACRO)
    shown = await dc.wait_for_response(sent.id, "callback")
    assert shown.message is not None
    labels = buttons(shown.message.data)
    assert labels == {
        "\U0001f514 Alerts on": "plumbline:/subscribe alerts",
        "\u2600\ufe0f Daily 08:30 NY": "plumbline:/subscribe daily 08:30 America/New_York",
        "Mute 6h": "plumbline:/mute 6h",
    }
    press = await dc.dispatch_interaction(
        "", user_id=ADMIN, guild_id=GUILD, channel_id=MACRO,
        component=(shown.message, labels["\U0001f514 Alerts on"]),
    )  # fmt: skip
    edited = await dc.wait_for_response(press.id, "callback")
    assert edited.type == 7  # UPDATE_MESSAGE: the same message, edited
    assert edited.message is shown.message
    embed = shown.message.data["embeds"][0]
    assert embed["title"] == "Settings for this chat"
    assert "Alerts: on" in embed["description"]
    assert "\U0001f515 Alerts off" in buttons(shown.message.data)
    chat = get_chat(frontend.db, "discord", str(MACRO))
    assert chat is not None and [s.kind for s in subscriptions_of(frontend.db, chat.id)] == ["alerts"]
    assert len([m for m in dc.messages if m.channel_id == MACRO]) == 1  # no new message


async def test_a_member_pressing_a_settings_button_is_refused_privately(
    dc: FakeDiscord, frontend: DiscordFrontend
) -> None:
    sent = await dc.dispatch_interaction("settings", user_id=MEMBER, guild_id=GUILD, channel_id=MACRO)
    shown = await dc.wait_for_response(sent.id, "callback")
    assert shown.message is not None
    before = dict(shown.message.data["embeds"][0])
    press = await dc.dispatch_interaction(
        "", user_id=MEMBER, guild_id=GUILD, channel_id=MACRO,
        component=(shown.message, "plumbline:/subscribe alerts"),
    )  # fmt: skip
    refused = await dc.wait_for_response(press.id, "callback")
    assert refused.type == 4 and refused.data["flags"] & 64  # only the member sees it
    assert "Manage Channels" in refused.data["embeds"][0]["title"]
    assert shown.message.data["embeds"][0] == before
    chat = get_chat(frontend.db, "discord", str(MACRO))
    assert chat is None or not subscriptions_of(frontend.db, chat.id)


# -- announcement channels ---------------------------------------------------------------------------------


def queue_alert(db: sqlite_utils.Database, chat_id: int, n: int) -> None:
    reply = Reply(
        f"SOFR above the ceiling \u2014 alert {n}", [Text("SOFR printed 4.22%, 22 bp above 4.00%.")]
    )
    add_event(
        db, key=f"a:{n}", rule="sofr_breach", kind="start", data_date="2025-10-31", audience="all",
        payload=reply_to_json(reply), now="2025-10-31T12:00:00Z",
    )  # fmt: skip
    enqueue(db, [chat_id], f"a:{n}", "2025-10-31T12:00:00Z")


async def test_announcement_alerts_are_published_ten_an_hour_and_the_rest_named_in_the_summary(
    dc: FakeDiscord, tmp_path: Path
) -> None:
    db = open_db(tmp_path / "d.db")
    chat = ensure_chat(
        db, "discord", str(NEWS), title="rates-news", is_group=True, now="2025-10-31T12:00:00Z"
    )
    subscribe(db, chat.id, "alerts", now="2025-10-31T12:00:00Z")
    started = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["empty"].now)
    now = [1000.0]
    sender = DiscordChannelSender(started, monotonic=lambda: now[0])
    dc.crosspost_limit = 100  # the fake's hour does not pass in a test; the sender's own budget is tested
    try:
        for n in range(12):
            queue_alert(db, chat.id, n)
        await drain(DeliveryWorker(db, {"discord": sender}, limits=UNPACED), within=60)
        assert len(dc.channel_messages(NEWS)) == 12 and outbox_counts(db) == {"sent": 12}
        assert len(dc.crossposted(NEWS)) == 10 and sender.published == 10
        assert unpublished(db, str(NEWS)) == [
            "SOFR above the ceiling \u2014 alert 10",
            "SOFR above the ceiling \u2014 alert 11",
        ]
        now[0] += 3600.0  # an hour later the budget is back; the daily summary names what was held back
        summary = Reply("Daily summary \u2014 Fri 2025-10-31", [Text("SOFR 4.22%.")])
        add_event(
            db, key="daily:2025-10-31:UTC:12:00", rule="daily", kind="summary", data_date="2025-10-31",
            audience="daily UTC 12:00", payload=reply_to_json(summary), now="2025-10-31T12:00:00Z",
        )  # fmt: skip
        enqueue(db, [chat.id], "daily:2025-10-31:UTC:12:00", "2025-10-31T12:00:00Z")
        await drain(DeliveryWorker(db, {"discord": sender}, limits=UNPACED), within=30)
    finally:
        await started.stop()
    last = dc.channel_messages(NEWS)[-1]
    assert last.embeds[0]["title"] == "Daily summary \u2014 Fri 2025-10-31"
    assert last.embeds[0]["description"].endswith(
        "Not published to following servers (Discord allows 10 an hour): "
        "SOFR above the ceiling \u2014 alert 10; SOFR above the ceiling \u2014 alert 11"
    )
    assert last in dc.crossposted(NEWS) and unpublished(db, str(NEWS)) == []
    assert not dc.crossposted(MACRO)


async def test_discords_own_crosspost_limit_is_overflow_not_a_failure(
    dc: FakeDiscord, tmp_path: Path
) -> None:
    """A restart forgets the hour's count: Discord's 429 on the eleventh publish is kept as overflow."""
    db = open_db(tmp_path / "d.db")
    chat = ensure_chat(
        db, "discord", str(NEWS), title="rates-news", is_group=True, now="2025-10-31T12:00:00Z"
    )
    subscribe(db, chat.id, "alerts", now="2025-10-31T12:00:00Z")
    started = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["empty"].now)
    sender = DiscordChannelSender(started, publish_limit=100)
    try:
        for n in range(11):
            queue_alert(db, chat.id, n)
        await drain(DeliveryWorker(db, {"discord": sender}, limits=UNPACED), within=60)
    finally:
        await started.stop()
    assert outbox_counts(db) == {"sent": 11} and len(dc.crossposted(NEWS)) == 10
    assert [r.status for r in dc.requests_to("/crosspost")][-1] == 429
    assert unpublished(db, str(NEWS)) == ["SOFR above the ceiling \u2014 alert 10"]
