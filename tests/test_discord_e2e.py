"""Discord end to end: the real discord.py against a fake gateway and REST API on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import discord
import pytest
import sqlite_utils

from bot.app import App
from bot.core.config import Settings, load_settings
from bot.delivery.worker import DeliveryWorker
from bot.frontends.discord_bot import DiscordChannelSender, DiscordFrontend
from bot.frontends.ratelimit import ChatRateLimiter
from bot.render.chart_process import CHARTS, ChartError
from bot.words.payload import reply_to_json
from bot.words.reply import Reply, Text
from handlers.table import COMMANDS
from storage.chats import chat_by_id, ensure_chat, get_chat, subscribe, subscriptions_of
from storage.db import open_db
from storage.outbox import add_event, enqueue, outbox_counts
from tests.e2e_support import calm_history, publish_breach, wait_until
from tests.fakes.discord import FakeDiscord
from tests.fakes.sources import FakeSources
from tests.fakes.telegram import FakeTelegram
from tests.seed import SCENARIOS, every_day, seeded, store

GUILD, MACRO, OTHER = 700000000000000001, 700000000000000002, 700000000000000003
ADMIN, MEMBER = 810000000000000001, 810000000000000002
MANAGE_CHANNELS = 1 << 4
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        fake.add_guild(GUILD, "Macro desk", [(MACRO, "macro"), (OTHER, "general")])
        fake.add_member(GUILD, ADMIN, MANAGE_CHANNELS)
        fake.add_member(GUILD, MEMBER, 0)
        yield fake


def discord_settings(dc: FakeDiscord, db_path: Path, **extra: str) -> Settings:
    env = {
        "DISCORD_BOT_TOKEN": dc.token,
        "DISCORD_API_BASE_URL": dc.api_base_url,
        "DISCORD_GATEWAY_URL": dc.gateway_url,
        "DATABASE_PATH": str(db_path),
        **extra,
    }
    return load_settings(env, env_file=None)


async def start_frontend(
    dc: FakeDiscord, db: sqlite_utils.Database, db_path: Path, now: datetime
) -> DiscordFrontend:
    frontend = DiscordFrontend(discord_settings(dc, db_path), db, clock=lambda: now)
    await frontend.start()
    await dc.wait_ready(timeout=20)
    await frontend.wait_ready()
    return frontend


async def test_corridor_interaction_gets_an_embed_with_the_numbers(dc: FakeDiscord, tmp_path: Path) -> None:
    db = seeded("month_end_2025", tmp_path / "d.db")
    frontend = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["month_end_2025"].now)
    try:
        sent = await dc.dispatch_interaction("corridor", user_id=MEMBER, guild_id=GUILD, channel_id=MACRO)
        reply = await dc.wait_for_response(sent.id, "callback")
    finally:
        await frontend.stop()
    assert reply.type == 4
    (embed,) = reply.data["embeds"]
    assert embed["title"] == "Fed funds corridor \u2014 Fri 2025-10-31"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["SOFR"] == "`4.22%`" and fields["Ceiling (SRF)"] == "`4.00%`"
    assert fields["SOFR \u2212 ceiling"] == "`+22 bp`"
    assert embed["footer"]["text"] == "As of 2025-10-31."
    assert embed["color"] == 0xE74C3C  # breach red
    assert "BREACH" in embed["description"]


async def test_chart_defers_then_follows_up_with_a_png(dc: FakeDiscord, tmp_path: Path) -> None:
    db = seeded("month_end_2025", tmp_path / "d.db")
    frontend = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["month_end_2025"].now)
    try:
        sent = await dc.dispatch_interaction("chart", {"series": "srf"}, guild_id=GUILD, channel_id=MACRO)
        first = await dc.wait_for_response(sent.id, "callback")
        followup = await dc.wait_for_response(sent.id, "followup", timeout=30)
    finally:
        await frontend.stop()
    assert first.type == 5  # deferred: the chart is drawn off the event loop
    (png,) = followup.files.values()
    assert png.startswith(PNG) and len(png) < 200_000
    assert followup.data["embeds"][0]["image"]["url"] == "attachment://chart.png"


async def test_a_chart_that_cannot_be_drawn_follows_up_as_text_in_chinese(
    dc: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dead(data: object) -> bytes:
        raise ChartError("no chart after 60 s")

    monkeypatch.setattr(CHARTS, "draw", dead)
    db = seeded("month_end_2025", tmp_path / "d.db")
    frontend = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["month_end_2025"].now)
    try:
        sent = await dc.dispatch_interaction(
            "chart", {"series": "srf"}, guild_id=GUILD, channel_id=MACRO, locale="zh-TW"
        )
        followup = await dc.wait_for_response(sent.id, "followup", timeout=30)
    finally:
        await frontend.stop()
    assert followup.files == {}
    embed = followup.data["embeds"][0]
    assert "image" not in embed
    assert "圖表暫時無法繪製，請稍候一分鐘再試。" in embed["description"]


async def test_subscribing_a_channel_needs_manage_channels(dc: FakeDiscord, tmp_path: Path) -> None:
    db = seeded("month_end_2025", tmp_path / "d.db")
    frontend = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["month_end_2025"].now)
    try:
        refused = await dc.dispatch_interaction(
            "subscribe", subcommand="alerts", user_id=MEMBER, guild_id=GUILD, channel_id=MACRO
        )
        no = await dc.wait_for_response(refused.id, "callback")
        assert get_chat(db, "discord", str(MACRO)) is None or not subscriptions_of(
            db,
            get_chat(db, "discord", str(MACRO)).id,  # type: ignore[union-attr]
        )
        allowed = await dc.dispatch_interaction(
            "subscribe", {"time": "08:30", "zone": "America/New_York"}, subcommand="daily",
            user_id=ADMIN, guild_id=GUILD, channel_id=MACRO,
        )  # fmt: skip
        yes = await dc.wait_for_response(allowed.id, "callback")
    finally:
        await frontend.stop()
    assert "Manage Channels" in no.data["embeds"][0]["title"]
    assert no.data["flags"] & 64  # ephemeral: only the member sees the refusal
    assert "Daily summary at 08:30 America/New_York" in yes.data["embeds"][0]["title"]
    chat = get_chat(db, "discord", str(MACRO))
    assert chat is not None and chat.is_group
    assert [(s.kind, s.daily_time, s.tz) for s in subscriptions_of(db, chat.id)] == [
        ("daily", "08:30", "America/New_York")
    ]


async def test_commands_are_synced_once_and_only_when_the_table_changes(
    dc: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = seeded("empty", tmp_path / "d.db")
    now = SCENARIOS["empty"].now
    for _ in range(2):
        frontend = await start_frontend(dc, db, tmp_path / "d.db", now)
        await frontend.stop()
    assert len(dc.command_puts) == 1
    names = {c["name"] for c in dc.commands}
    assert names == {name for name, c in COMMANDS.items() if not c.hidden}
    chart = next(c for c in dc.commands if c["name"] == "chart")
    assert [o["name"] for o in chart["options"]] == ["series", "range"]
    assert all(o["autocomplete"] and "choices" not in o for o in chart["options"])  # suggested as you type
    changed = dataclasses.replace(COMMANDS["srf"], help="Standing Repo Facility take-up, AM and PM")
    monkeypatch.setitem(COMMANDS, "srf", changed)
    frontend = await start_frontend(dc, db, tmp_path / "d.db", now)
    await frontend.stop()
    assert len(dc.command_puts) == 2


async def test_a_database_moved_to_another_bot_registers_its_commands_there(tmp_path: Path) -> None:
    """The sync record names the application: the same database under a second bot syncs again."""
    db = seeded("empty", tmp_path / "d.db")
    now = SCENARIOS["empty"].now
    async with FakeDiscord() as first:
        frontend = await start_frontend(first, db, tmp_path / "d.db", now)
        await frontend.stop()
    async with FakeDiscord(application_id=900000000000000777, bot_user_id=900000000000000777) as second:
        frontend = await start_frontend(second, db, tmp_path / "d.db", now)
        await frontend.stop()
        frontend = await start_frontend(second, db, tmp_path / "d.db", now)
        await frontend.stop()
    assert len(first.command_puts) == 1 and len(second.command_puts) == 1
    assert {c["name"] for c in second.commands} == {n for n, c in COMMANDS.items() if not c.hidden}


async def test_subscription_commands_default_to_channel_managers(dc: FakeDiscord, tmp_path: Path) -> None:
    db = seeded("empty", tmp_path / "d.db")
    frontend = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["empty"].now)
    await frontend.stop()
    managing = {n for n, c in COMMANDS.items() if c.changes_subscriptions}
    restricted = {c["name"]: c.get("default_member_permissions") for c in dc.commands}
    assert {n for n, p in restricted.items() if p is not None} == managing
    assert all(int(str(restricted[n])) == discord.Permissions(manage_channels=True).value for n in managing)


def queue(db: sqlite_utils.Database, address: int, key: str) -> int:
    chat = ensure_chat(db, "discord", str(address), title="macro", is_group=True, now="2025-10-31T12:00:00Z")
    subscribe(db, chat.id, "alerts", now="2025-10-31T12:00:00Z")
    reply = Reply(
        "SOFR above the ceiling \u2014 2025-10-31", [Text("SOFR printed 4.22%, 22 bp above 4.00%.")]
    )
    add_event(
        db, key=key, rule="sofr_breach", kind="start", data_date="2025-10-31", audience="all",
        payload=reply_to_json(reply), now="2025-10-31T12:00:00Z",
    )  # fmt: skip
    enqueue(db, [chat.id], key, "2025-10-31T12:00:00Z")
    return chat.id


async def drain(worker: DeliveryWorker, within: float = 30.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await wait_until(lambda: not outbox_counts(worker.db).get("pending"), within, "the outbox to drain")
    finally:
        stop.set()
        await task


async def test_429_is_honoured_and_403_deactivates(dc: FakeDiscord, tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    frontend = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["empty"].now)
    try:
        ok_chat = queue(db, MACRO, "a:1")
        dc.fail_next(f"POST /channels/{MACRO}/messages", status=429, retry_after=1.0)
        gone_chat = queue(db, OTHER, "a:2")
        dc.fail_next(f"POST /channels/{OTHER}/messages", status=403, code=50001, message="Missing Access")
        await drain(DeliveryWorker(db, {"discord": DiscordChannelSender(frontend)}))
    finally:
        await frontend.stop()
    posts = dc.requests_to(f"POST /channels/{MACRO}/messages")
    assert [r.status for r in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.95
    assert len(dc.channel_messages(MACRO)) == 1
    assert chat_by_id(db, ok_chat).active  # type: ignore[union-attr]
    gone = chat_by_id(db, gone_chat)
    assert gone is not None and not gone.active
    assert len(dc.requests_to(f"POST /channels/{OTHER}/messages")) == 1  # never retried


async def test_published_breach_posts_exactly_one_message_to_the_channel(
    dc: FakeDiscord, tmp_path: Path
) -> None:
    db_path = tmp_path / "d.db"
    db = open_db(db_path)
    chat = ensure_chat(db, "discord", str(MACRO), title="macro", is_group=True, now="2025-10-30T00:00:00Z")
    subscribe(db, chat.id, "alerts", now="2025-10-30T00:00:00Z")
    db.close()
    async with FakeSources(calm_history()) as sources:
        settings = discord_settings(dc, db_path, **sources.env(), POLL_INTERVAL_SECONDS="1")
        app = App(settings, console=False)
        await app.start()
        try:
            await dc.wait_ready(timeout=20)
            await wait_until(
                lambda: (
                    app.db is not None
                    and app.db.execute(
                        "SELECT COUNT(*) FROM alert_marks WHERE rule='sofr_breach'"
                    ).fetchone()[0]
                    > 0
                ),
                60,
                "the baseline",
            )
            publish_breach(sources.history)
            await dc.wait_for_channel_messages(MACRO, 1, timeout=30)
            await asyncio.sleep(3)
        finally:
            await app.stop()
    (message,) = dc.channel_messages(MACRO)
    assert message.embeds[0]["title"] == "\U0001f6a8 SOFR above the ceiling \u2014 2025-10-31"
    assert "4.22%" in message.embeds[0]["description"]
    assert message.files and next(iter(message.files.values())).startswith(PNG)


async def test_webhook_mode_posts_to_the_webhook_with_no_bot(dc: FakeDiscord, tmp_path: Path) -> None:
    db_path = tmp_path / "d.db"
    async with FakeSources(calm_history()) as sources:
        env = {**sources.env(), "DISCORD_WEBHOOK_URL": dc.webhook_url, "DATABASE_PATH": str(db_path)}
        app = App(load_settings({**env, "POLL_INTERVAL_SECONDS": "1"}, env_file=None), console=False)
        await app.start()
        try:
            await wait_until(
                lambda: (
                    app.db is not None
                    and app.db.execute(
                        "SELECT COUNT(*) FROM alert_marks WHERE rule='sofr_breach'"
                    ).fetchone()[0]
                    > 0
                ),
                60,
                "the baseline",
            )
            publish_breach(sources.history)
            await wait_until(
                lambda: any("SOFR above the ceiling" in m.embeds[0]["title"] for m in dc.webhook_messages()),
                30,
                "the breach alert",
            )
            await asyncio.sleep(2)  # time for a duplicate to show, if there were one
        finally:
            await app.stop()
    # The breach, once. Run after 08:30 New York on a weekday, the channel's daily summary (set up below)
    # is due as well and arrives beside it.
    titles = [m.embeds[0]["title"] for m in dc.webhook_messages()]
    alerts = [title for title in titles if "SOFR above the ceiling" in title]
    assert len(alerts) == 1, titles
    assert all(title in alerts or "Plumbline daily" in title for title in titles), titles
    assert dc.connected == 0 and not dc.requests_to("/gateway")  # no bot, no gateway
    db = open_db(db_path)
    chat = get_chat(db, "discord_webhook", "default")
    assert chat is not None
    assert {s.kind for s in subscriptions_of(db, chat.id)} == {"alerts", "daily"}


async def test_run_both_one_failing_does_not_stop_the_other(dc: FakeDiscord, tmp_path: Path) -> None:
    async with FakeTelegram() as tg, FakeSources() as sources:
        env = {
            **sources.env(),
            "DISCORD_BOT_TOKEN": "wrong.discord.token",
            "DISCORD_API_BASE_URL": dc.api_base_url,
            "DISCORD_GATEWAY_URL": dc.gateway_url,
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "DATABASE_PATH": str(tmp_path / "d.db"),
            "POLL_INTERVAL_SECONDS": "1",
        }
        app = App(load_settings(env, env_file=None), console=False)
        await app.start()
        try:
            tg.push_message(42, "/status")
            (call,) = await tg.wait_for("sendMessage", timeout=20)
            assert app.scheduler is not None and app.scheduler.running
        finally:
            await app.stop()
    assert "Data freshness" in str(call.params["text"])
    assert any(r.status == 401 for r in dc.requests_to("/users/@me") + dc.requests_to("/applications"))


async def test_faults_during_a_channel_fan_out(dc: FakeDiscord, tmp_path: Path) -> None:
    channels = [700000000000000100 + n for n in range(8)]
    dc.add_guild(700000000000000099, "Rates", [(c, f"rates-{n}") for n, c in enumerate(channels)])
    db = open_db(tmp_path / "d.db")
    frontend = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["empty"].now)
    try:
        for channel in channels:
            queue(db, channel, "fan:1")
        dc.fail_next(f"POST /channels/{channels[1]}/messages", status=429, retry_after=1.0)
        dc.fail_next(f"POST /channels/{channels[2]}/messages", status=500, count=1)
        dc.fail_next(
            f"POST /channels/{channels[3]}/messages", status=404, code=10003, message="Unknown Channel"
        )
        await drain(DeliveryWorker(db, {"discord": DiscordChannelSender(frontend)}), within=60)
    finally:
        await frontend.stop()
    for n, channel in enumerate(channels):
        assert len(dc.channel_messages(channel)) == (0 if n == 3 else 1), channel
    gone = get_chat(db, "discord", str(channels[3]))
    assert gone is not None and not gone.active
    assert outbox_counts(db) == {"sent": 7, "dropped": 1}


async def test_discord_down_at_start_retries_and_the_queue_drains_once_logged_in(
    dc: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import app as app_module

    monkeypatch.setattr(app_module, "retry_delay", lambda attempt: 0.3)
    db_path = tmp_path / "d.db"
    db = open_db(db_path)
    chat = ensure_chat(db, "discord", str(MACRO), title="macro", is_group=True, now="2025-10-30T00:00:00Z")
    reply = Reply("SRF take-up $50.35B", [Text("Month-end record.")])
    add_event(
        db, key="srf:start:2025-10-31", rule="srf", kind="start", data_date="2025-10-31",
        audience="alerts", payload=reply_to_json(reply), now="2025-10-31T13:31:00Z",
    )  # fmt: skip
    enqueue(db, [chat.id], "srf:start:2025-10-31", "2025-10-31T13:31:00Z")
    db.conn.commit()
    db.close()
    # Discord's REST API through a loopback port that refuses connections until "Discord is back".
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    target = urlsplit(dc.api_base_url)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def forward(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(target.hostname, target.port)
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    api = target._replace(netloc=f"127.0.0.1:{port}").geturl()
    settings = discord_settings(dc, db_path, POLL_INTERVAL_SECONDS="3600", DISCORD_API_BASE_URL=api)
    app = App(settings, console=False)
    await app.start()
    server = None
    try:
        assert app.worker is not None and "discord" not in app.worker.senders  # waits, nothing fails
        assert outbox_counts(app.worker.db) == {"pending": 1}
        server = await asyncio.start_server(forward, "127.0.0.1", port)
        await dc.wait_for_channel_messages(MACRO, 1, timeout=30)
    finally:
        await app.stop()
        if server is not None:
            server.close()
    assert app.exit_code == 0
    assert len(dc.channel_messages(MACRO)) == 1
    assert outbox_counts(open_db(db_path)) == {"sent": 1}


async def test_a_rejected_discord_token_stops_the_process(dc: FakeDiscord, tmp_path: Path) -> None:
    settings = dataclasses.replace(discord_settings(dc, tmp_path / "d.db"), discord_bot_token="not-the-token")
    app = App(settings, console=False)
    await app.start()
    assert app.stop_event.is_set()
    await app.stop()
    assert app.exit_code == 2


async def test_a_chart_fan_out_uploads_the_picture_once(dc: FakeDiscord, tmp_path: Path) -> None:
    """Six channels get the 2025-10-31 alert's chart: one upload, five embeds pointing at its CDN URL."""
    channels = [700000000000000200 + n for n in range(6)]
    dc.add_guild(700000000000000199, "Rates", [(c, f"rates-{n}") for n, c in enumerate(channels)])
    db = open_db(tmp_path / "d.db")
    when = datetime(2025, 11, 3, 14, 0, tzinfo=UTC)
    store(db, "sofr", every_day("2025-10-01", "2025-10-31", 4.22), "nyfed", when)
    reply = Reply("SRF take-up $50.35B \u2014 2025-10-31", [Text("A month-end record.")])
    add_event(
        db, key="srf_record:2025-10-31", rule="srf_record", kind="start", data_date="2025-10-31",
        audience="all", payload=reply_to_json(reply, chart="sofr 1m"), now="2025-11-03T13:05:00Z",
    )  # fmt: skip
    ids = [
        ensure_chat(db, "discord", str(c), title="rates", is_group=True, now="2025-11-03T13:00:00Z").id
        for c in channels
    ]
    enqueue(db, ids, "srf_record:2025-10-31", "2025-11-03T13:05:00Z")
    frontend = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["empty"].now)
    sender = DiscordChannelSender(frontend)
    try:
        await drain(DeliveryWorker(db, {"discord": sender}, clock=lambda: when), within=60)
    finally:
        await frontend.stop()
    posted = [m for c in channels for m in dc.channel_messages(c)]
    assert len(posted) == 6 and outbox_counts(db) == {"sent": 6}
    uploaded = [m for m in posted if m.files]
    assert len(uploaded) == 1 and sender.uploads == 1
    url = uploaded[0].data["attachments"][0]["url"]
    assert {m.data["embeds"][0]["image"]["url"] for m in posted} == {url}


async def test_a_flooding_channel_gets_every_interaction_answered_privately(
    dc: FakeDiscord, tmp_path: Path
) -> None:
    db = seeded("month_end_2025", tmp_path / "d.db")
    frontend = await start_frontend(dc, db, tmp_path / "d.db", SCENARIOS["month_end_2025"].now)
    frontend.limiter = ChatRateLimiter(burst=2, per_minute=1)
    try:
        replies = []
        for _ in range(5):
            sent = await dc.dispatch_interaction("corridor", user_id=MEMBER, guild_id=GUILD, channel_id=MACRO)
            replies.append(await dc.wait_for_response(sent.id, "callback"))
    finally:
        await frontend.stop()
    # Two commands run; the three over the limit are refused, each privately, so none shows
    # "interaction failed" and nobody else in the channel sees a "slow down".
    assert [r.type for r in replies] == [4] * 5
    assert [bool(r.data.get("embeds")) for r in replies] == [True, True, False, False, False]
    refusals = replies[2:]
    assert all(r.data.get("flags", 0) & 64 for r in refusals)  # EPHEMERAL
    assert all("too many commands from this chat" in str(r.data.get("content")) for r in refusals)
