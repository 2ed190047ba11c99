"""Telegram end to end: the real python-telegram-bot against the fake Bot API on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.core.config import load_settings
from bot.frontends.ratelimit import ChatRateLimiter
from bot.frontends.telegram_bot import TelegramFrontend, menu_commands
from bot.render.chart_process import CHARTS, ChartError
from bot.words.reply import Button, Mono, Reply
from handlers.table import COMMANDS
from storage.chats import get_chat, subscriptions_of
from tests.fakes.telegram import FakeTelegram
from tests.seed import SCENARIOS, seeded

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


async def start_frontend(
    tg: FakeTelegram, tmp_path: Path, scenario: str = "month_end_2025", **env: str
) -> TelegramFrontend:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "DATABASE_PATH": str(tmp_path / "tg.db"),
            **env,
        },
        env_file=None,
    )
    now: datetime = SCENARIOS[scenario].now
    db = seeded(scenario, tmp_path / "tg.db")
    frontend = TelegramFrontend(settings, db, clock=lambda: now)
    await frontend.start()
    return frontend


async def test_corridor_reply_holds_the_numbers(tg: FakeTelegram, tmp_path: Path) -> None:
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_message(42, "/corridor")
        (call,) = await tg.wait_for("sendMessage")
    finally:
        await frontend.stop()
    assert call.params["chat_id"] == 42
    assert call.params["parse_mode"] == "HTML"
    text = str(call.params["text"])
    assert "Fed funds corridor" in text and "2025-10-31" in text
    for number in ("4.22%", "4.00%", "3.90%", "3.87%", "3.75%", "+22 bp", "+32 bp", "BREACH"):
        assert number in text, number
    assert "<pre>" in text
    markup = call.params["reply_markup"]
    assert isinstance(markup, dict)
    assert markup["inline_keyboard"][0][0]["callback_data"] == "/chart corridor 3m"


async def test_chart_is_sent_as_a_png_photo(tg: FakeTelegram, tmp_path: Path) -> None:
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_message(42, "/chart corridor 3m")
        (call,) = await tg.wait_for("sendPhoto", timeout=30)
    finally:
        await frontend.stop()
    photo = call.files["photo"]
    assert photo.startswith(PNG) and 5_000 < len(photo) < 200_000
    assert "SOFR in the fed funds corridor" in str(call.params["caption"])
    assert tg.calls_of("sendChatAction")


async def test_a_chart_that_cannot_be_drawn_is_answered_as_text(
    tg: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dead(data: object) -> bytes:
        raise ChartError("the drawing process exited before answering")

    monkeypatch.setattr(CHARTS, "draw", dead)
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_message(42, "/chart corridor 3m")
        (call,) = await tg.wait_for("sendMessage", timeout=30)
    finally:
        await frontend.stop()
    assert tg.calls_of("sendPhoto") == []
    text = str(call.params["text"])
    assert "SOFR in the fed funds corridor" in text
    assert "2025-10-31.\n\nThe chart could not be drawn just now; ask again in a minute.\n\n<i>As of" in text


async def test_group_command_addressed_to_the_bot_is_answered(tg: FakeTelegram, tmp_path: Path) -> None:
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_message(-1001234, "/srf@plumbline_test_bot", chat_type="supergroup", chat_title="Macro desk")
        tg.push_message(-1001234, "/srf@some_other_bot", chat_type="supergroup", chat_title="Macro desk")
        (call,) = await tg.wait_for("sendMessage")
    finally:
        await frontend.stop()
    assert call.params["chat_id"] == -1001234
    text = str(call.params["text"])
    assert "Standing Repo Facility" in text and "$50.350B" in text
    assert call.params.get("reply_to_message_id") or call.params.get("reply_parameters")
    assert len(tg.sent()) == 1  # the other bot's command was left alone


async def test_429_is_retried_after_retry_after(tg: FakeTelegram, tmp_path: Path) -> None:
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.fail_next("sendMessage", status=429, retry_after=1)
        tg.push_message(42, "/sofr")
        (call,) = await tg.wait_for("sendMessage", timeout=15)
    finally:
        await frontend.stop()
    attempts = tg.calls_of("sendMessage")
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 0.95
    assert "SOFR" in str(call.params["text"])
    assert tg.duplicates() == []


async def test_menu_is_registered_from_the_command_table(tg: FakeTelegram, tmp_path: Path) -> None:
    frontend = await start_frontend(tg, tmp_path)
    await frontend.stop()
    registered = [c["command"] for c in tg.commands()]
    assert registered == [c.command for c in menu_commands()]
    assert set(registered) == {name for name, c in COMMANDS.items() if not c.hidden}


async def test_bad_arguments_and_unknown_commands_get_usage(tg: FakeTelegram, tmp_path: Path) -> None:
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_message(42, "/chart corridor 7y")
        tg.push_message(43, "/frobnicate")
        calls = await tg.wait_for("sendMessage", 2)
    finally:
        await frontend.stop()
    texts = {c.params["chat_id"]: str(c.params["text"]) for c in calls}
    kinds = "corridor|spread|ladder|srf|sofr|rrp|tga|liquidity|debt|buyers"
    assert f"Usage: /chart &lt;{kinds}&gt; [1m|3m|1y|5y|max]" in texts[42]
    assert "Unknown command /frobnicate" in texts[43]


async def test_button_press_runs_its_command(tg: FakeTelegram, tmp_path: Path) -> None:
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_callback(42, 1001, "/srf")
        (call,) = await tg.wait_for("sendMessage")
    finally:
        await frontend.stop()
    assert "Standing Repo Facility" in str(call.params["text"])
    assert tg.callback_answers


async def test_a_flooding_chat_is_throttled_without_starving_others(tg: FakeTelegram, tmp_path: Path) -> None:
    frontend = await start_frontend(tg, tmp_path)
    frontend.limiter = ChatRateLimiter(burst=3, per_minute=6)
    try:
        for _ in range(6):
            tg.push_message(42, "/rrp")
        tg.push_message(77, "/rrp")
        await tg.wait_for("sendMessage", 5)
        await asyncio.sleep(1.0)  # any reply to the rest of the flood would arrive by now
        calls = tg.calls_of("sendMessage")
    finally:
        await frontend.stop()
    flood = [str(c.params["text"]) for c in calls if c.params["chat_id"] == 42]
    assert sum("ON RRP" in t for t in flood) == 3
    assert sum("too many commands" in t for t in flood) == 1  # one "slow down" per flood, then silence
    assert len(flood) == 4
    assert any("ON RRP" in str(c.params["text"]) for c in calls if c.params["chat_id"] == 77)


async def test_internal_error_gets_an_apology_not_a_traceback(
    tg: FakeTelegram, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret internals: /var/lib/plumbline")

    monkeypatch.setitem(COMMANDS, "tga", dataclasses.replace(COMMANDS["tga"], handler=broken))
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_message(42, "/tga")
        (call,) = await tg.wait_for("sendMessage")
    finally:
        await frontend.stop()
    text = str(call.params["text"])
    assert "Sorry, something went wrong" in text
    assert "secret internals" not in text and "Traceback" not in text
    assert any("secret internals" in (r.exc_text or "") or r.exc_info for r in caplog.records)


async def test_private_deployment_refuses_other_chats(tg: FakeTelegram, tmp_path: Path) -> None:
    frontend = await start_frontend(tg, tmp_path, ALLOWED_CHAT_IDS="42")
    try:
        tg.push_message(99, "/corridor")
        tg.push_message(42, "/corridor")
        calls = await tg.wait_for("sendMessage", 2)
    finally:
        await frontend.stop()
    texts = {c.params["chat_id"]: str(c.params["text"]) for c in calls}
    assert "private" in texts[99] and "4.22%" not in texts[99]
    assert "4.22%" in texts[42]


def test_flood_limiter_warns_once_per_flood() -> None:
    now = [0.0]
    limiter = ChatRateLimiter(burst=2, per_minute=60, clock=lambda: now[0])
    verdicts = []
    for _ in range(60):  # 60 floods used to get 60 replies
        wait = limiter.check("c")
        verdicts.append("ok" if wait == 0 else ("warn" if limiter.warn_once("c") else "silent"))
    assert verdicts[:3] == ["ok", "ok", "warn"] and set(verdicts[3:]) == {"silent"}
    now[0] += 1.0  # one token back: under the limit again
    assert limiter.check("c") == 0
    assert limiter.check("c") > 0 and limiter.warn_once("c")  # the next flood gets its one warning


async def test_a_bare_unknown_command_in_a_group_is_left_to_other_bots(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_message(-1001234, "/price", chat_type="supergroup")  # another bot's command
        tg.push_message(-1001234, "/price@plumbline_test_bot", chat_type="supergroup")
        tg.push_message(-1001234, "/corridor@Plumbline_Test_Bot", chat_type="supergroup")
        calls = await tg.wait_for("sendMessage", 2)
    finally:
        await frontend.stop()
    assert "Unknown command /price" in str(calls[0].params["text"])
    assert "Fed funds corridor" in str(calls[1].params["text"])
    assert len(tg.sent()) == 2


async def test_start_welcomes_and_a_deep_link_subscribes(tg: FakeTelegram, tmp_path: Path) -> None:
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_message(42, "/start")
        (welcome,) = await tg.wait_for("sendMessage")
        tg.push_message(43, "/start alerts")  # opened t.me/plumbline_test_bot?start=alerts
        calls = await tg.wait_for("sendMessage", 2)
    finally:
        await frontend.stop()
    text = str(welcome.params["text"])
    assert "Welcome to Plumbline" in text and "/corridor" in text and "/subscribe alerts" in text
    markup = welcome.params["reply_markup"]
    assert isinstance(markup, dict)
    assert markup["inline_keyboard"][0][0]["callback_data"] == "/subscribe alerts"
    assert "Subscribed from your link" in str(calls[1].params["text"])
    chat = get_chat(frontend.db, "telegram", "43")
    assert chat is not None and [s.kind for s in subscriptions_of(frontend.db, chat.id)] == ["alerts"]


async def test_a_settings_button_edits_its_message_and_pops_up_the_result(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_message(42, "/settings")
        (shown,) = await tg.wait_for("sendMessage")
        message_id = shown.result["message_id"]
        assert "Alerts: off" in tg.message(42, message_id)["text"]  # type: ignore[index]
        tg.push_callback(42, 1001, "/subscribe alerts", message_id=message_id)
        await tg.wait_for("editMessageText")
        tg.push_callback(42, 1001, "/mute 6h", message_id=message_id)
        await tg.wait_for("editMessageText", 2)
    finally:
        await frontend.stop()
    edited = tg.message(42, message_id)
    assert edited is not None and "Alerts: on" in edited["text"] and "Muted until" in edited["text"]
    buttons = [b["callback_data"] for row in edited["reply_markup"]["inline_keyboard"] for b in row]
    assert "/unsubscribe alerts" in buttons and "/mute off" in buttons
    assert len(tg.sent()) == 1  # the presses sent nothing new
    toasts = [a for a in tg.callback_answers if a.get("text")]
    assert len(toasts) == 2 and not any(a.get("show_alert") for a in toasts)


async def test_a_refused_button_press_is_a_pop_up_and_changes_nothing(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_message(-1001234, "/settings", chat_type="supergroup", user_id=2002)
        (shown,) = await tg.wait_for("sendMessage")
        tg.set_member_status(-1001234, 2002, "member")
        tg.push_callback(
            -1001234, 2002, "/subscribe alerts", message_id=shown.result["message_id"], chat_type="supergroup"
        )
        (answer,) = await tg.wait_for("answerCallbackQuery")
    finally:
        await frontend.stop()
    assert answer.params["show_alert"] is True and "administrator" in str(answer.params["text"]).lower()
    assert tg.calls_of("editMessageText") == [] and len(tg.sent()) == 1


async def test_menus_by_scope_keep_admin_commands_from_members(tg: FakeTelegram, tmp_path: Path) -> None:
    tg.push_message(777, "/status", user_id=777)  # the operator has opened the bot before
    frontend = await start_frontend(tg, tmp_path, ADMIN_USER_IDS="777,778")
    await frontend.stop()

    def names(scope: dict[str, object]) -> set[str]:
        return {c["command"] for c in tg.commands(scope)}

    managing = {n for n, c in COMMANDS.items() if c.changes_subscriptions}
    assert managing and managing <= names({"type": "all_private_chats"})
    assert managing <= names({"type": "all_chat_administrators"})
    assert not managing & names({"type": "all_group_chats"})
    assert "settings" in names({"type": "all_group_chats"})
    assert "admin" in names({"type": "chat", "chat_id": 777})
    assert not any("admin" in names({"type": t}) for t in ("default", "all_private_chats"))
    assert names({"type": "chat", "chat_id": 778}) == set()  # never opened the bot: skipped, not fatal


async def test_a_reply_over_4096_characters_arrives_in_parts(tg: FakeTelegram, tmp_path: Path) -> None:
    frontend = await start_frontend(tg, tmp_path)
    ladder = tuple(f"2025-10-{1 + i % 30:02d} AM  ${i * 0.37:7.2f}B  4.25% <min bid>" for i in range(200))
    reply = Reply("SRF operations since 2025-10-01", blocks=[Mono(ladder)], buttons=[[Button("SRF", "/srf")]])
    try:
        await frontend.send_reply(42, reply)
    finally:
        await frontend.stop()
    parts = tg.sent(42)
    assert len(parts) >= 3 and all(len(str(p.params["text"])) <= 4096 for p in parts)
    assert "\n".join(str(p.result["text"]) for p in parts) == reply.plain_text()
    assert [("reply_markup" in p.params) for p in parts] == [False] * (len(parts) - 1) + [True]


async def test_a_channel_can_subscribe_and_gets_its_answer_in_the_channel(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    frontend = await start_frontend(tg, tmp_path)
    try:
        tg.push_channel_post(-1009999, "/subscribe alerts")
        tg.push_channel_post(-1009999, "/corridor")
        calls = await tg.wait_for("sendMessage", 2)
    finally:
        await frontend.stop()
    assert {c.params["chat_id"] for c in calls} == {-1009999}
    assert tg.calls_of("getChatMember") == []  # only a channel's administrators can post in it
    chat = get_chat(frontend.db, "telegram", "-1009999")
    assert chat is not None and chat.is_group
    assert [s.kind for s in subscriptions_of(frontend.db, chat.id)] == ["alerts"]
