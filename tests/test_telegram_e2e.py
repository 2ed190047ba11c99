"""Telegram end to end: the real python-telegram-bot against the fake Bot API on loopback."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.core.config import load_settings
from bot.frontends.ratelimit import ChatRateLimiter
from bot.frontends.telegram_bot import TelegramFrontend, menu_commands
from handlers.table import COMMANDS
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
    assert (
        "Usage: /chart &lt;corridor|srf|rrp|tga|liquidity|sofr|debt|buyers&gt; [1m|3m|1y|5y|max]" in texts[42]
    )
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
        calls = await tg.wait_for("sendMessage", 7)
    finally:
        await frontend.stop()
    flood = [str(c.params["text"]) for c in calls if c.params["chat_id"] == 42]
    assert sum("ON RRP" in t for t in flood) == 3
    assert sum("too many commands" in t for t in flood) == 3
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
