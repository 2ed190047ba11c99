"""Malformed Telegram updates: the real python-telegram-bot against the fake Bot API, on a seeded database.

Each odd update (missing fields, unknown types, non-text messages, updates PTB itself cannot parse) is
ignored without a crash and without a reply, with at most one log line, and the bot keeps answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from bot.core.config import load_settings
from bot.frontends.telegram_bot import TelegramFrontend
from bot.words.messages import t
from tests.e2e_support import wait_until
from tests.fakes.telegram import FakeTelegram
from tests.seed import SCENARIOS, seeded

SCENARIO = "month_end_2025"
NOW: datetime = SCENARIOS[SCENARIO].now
CHAT_ID = 42
USER = {"id": 1001, "is_bot": False, "first_name": "Trader", "username": "trader", "language_code": "en"}
CHAT = {"id": CHAT_ID, "type": "private", "first_name": "Trader", "username": "trader"}
GROUP = {"id": -1001234, "type": "supergroup", "title": "Macro desk"}
DATE = 1762178700  # 2025-11-03 14:05 UTC
# Transport chatter the production logging set-up silences (see bot.core.logs.setup_logging).
_TRANSPORT = ("httpx", "httpcore")

RawUpdate = dict[str, Any]


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake
    # Whatever a test left unclosed is reported against that test, not the next one.
    gc.collect()


async def start_frontend(tg: FakeTelegram, tmp_path: Path) -> tuple[TelegramFrontend, sqlite_utils.Database]:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "DATABASE_PATH": str(tmp_path / "tg.db"),
        },
        env_file=None,
    )
    db = seeded(SCENARIO, tmp_path / "tg.db")
    bot = TelegramFrontend(settings, db, clock=lambda: NOW)
    await bot.start()
    return bot, db


async def force_stop(bot: TelegramFrontend) -> None:
    """After a failed stop(): close PTB's application and HTTP clients anyway (no socket outlives it)."""
    app = bot.app
    for step in (app.stop, app.shutdown, app.bot.shutdown):
        with contextlib.suppress(Exception):
            await step()


@pytest.fixture
async def frontend(tg: FakeTelegram, tmp_path: Path) -> AsyncIterator[TelegramFrontend]:
    bot, db = await start_frontend(tg, tmp_path)
    try:
        yield bot
    finally:
        try:
            await bot.stop()
        except Exception:
            await force_stop(bot)
            raise
        finally:
            db.close()


def message(text: str | None = "/corridor", drop: tuple[str, ...] = (), **extra: object) -> dict[str, Any]:
    """A user's message as the Bot API sends it, minus the fields named in drop."""
    body: dict[str, Any] = {"message_id": 7001, "from": USER, "chat": CHAT, "date": DATE}
    if text is not None:
        body["text"] = text
        if text.startswith("/"):
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    body.update(extra)
    for name in drop:
        body.pop(name, None)
    return body


def live_callback_id(tg: FakeTelegram) -> str:
    """A callback query id the fake will accept in answerCallbackQuery.

    A button press with data that is not a command ("noop") is queued and ignored by the bot; its id is then
    reused by the malformed press, so the test is about the missing fields and not about an expired query.
    """
    update_id = tg.push_callback(CHAT_ID, USER["id"], "noop", message_id=1)
    (pending,) = [u for u in tg.pending_updates if u["update_id"] == update_id]
    return str(pending["callback_query"]["id"])


def _bot_message() -> dict[str, Any]:
    return {"message_id": 1, "from": {"id": 123456, "is_bot": True, "first_name": "Plumbline"}, "chat": CHAT,
            "date": DATE, "text": "Plumbline alert"}  # fmt: skip


def callback_without_data(tg: FakeTelegram) -> RawUpdate:
    return {"callback_query": {"id": live_callback_id(tg), "from": USER, "message": _bot_message(),
                               "chat_instance": "-5512", "game_short_name": "plumb"}}  # fmt: skip


def callback_without_message(tg: FakeTelegram) -> RawUpdate:
    # A press on an inline-mode message: no message, so no chat to answer in.
    return {"callback_query": {"id": live_callback_id(tg), "from": USER, "inline_message_id": "AAIABBCC",
                               "chat_instance": "-5512", "data": "/srf"}}  # fmt: skip


STICKER = {"file_id": "CAACAgIAAxkBAAE", "file_unique_id": "AgADBQAD", "type": "regular", "width": 512,
           "height": 512, "is_animated": False, "is_video": False, "emoji": "\U0001f680"}  # fmt: skip

# Updates PTB parses; the bot must ignore them quietly.
IGNORED: dict[str, Callable[[FakeTelegram], RawUpdate]] = {
    "message without from": lambda tg: {"message": message(drop=("from",))},
    "message without chat": lambda tg: {"message": message(drop=("chat",))},
    "message without text": lambda tg: {"message": message(drop=("text",))},
    "group message without from": lambda tg: {"message": message("/subscribe alerts", ("from",), chat=GROUP)},
    "text is only a slash": lambda tg: {"message": message("/")},
    "text is a slash and spaces": lambda tg: {"message": message("/   ")},
    "sticker message": lambda tg: {"message": message(None, sticker=STICKER)},
    "photo without caption": lambda tg: {
        "message": message(None, photo=[{"file_id": "p", "file_unique_id": "q", "width": 90, "height": 90}])
    },
    "edited message": lambda tg: {"edited_message": message(edit_date=DATE + 60)},
    "edited channel post": lambda tg: {
        "edited_channel_post": message(
            drop=("from",), chat={"id": -1009999, "type": "channel", "title": "Rates"}, edit_date=DATE + 60
        )
    },
    "unknown update type": lambda tg: {"quantum_entanglement": {"id": 1, "spin": "up"}},
    "update with no payload": lambda tg: {},
    "callback without data": callback_without_data,
    "callback without message": callback_without_message,
}

# Updates PTB cannot turn into objects: it must not stop the bot from answering.
UNPARSEABLE: dict[str, RawUpdate] = {
    "message without date": {"message": message(drop=("date",))},
    "message that is a string": {"message": "hello"},
    "callback without chat_instance": {"callback_query": {"id": "4382", "from": USER, "data": "/srf"}},
}


def _log_lines(caplog: pytest.LogCaptureFixture, start: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records[start:] if not r.name.startswith(_TRANSPORT)]


async def _corridor_still_answered(tg: FakeTelegram, within: float = 10.0) -> None:
    """A normal /corridor after the odd update is answered, and every earlier update has been consumed."""
    update_id = tg.push_message(CHAT_ID, "/corridor")
    (call,) = await tg.wait_for("sendMessage", timeout=within)
    assert call.params["chat_id"] == CHAT_ID
    assert "Fed funds corridor" in str(call.params["text"]) and "4.22%" in str(call.params["text"])
    # The next long poll confirms everything up to /corridor: the fake then forgets those updates.
    await wait_until(
        lambda: all(u["update_id"] > update_id for u in tg.pending_updates),
        within=5,
        what="the updates to be confirmed",
    )
    await asyncio.sleep(0.3)  # anything handled concurrently has finished logging


@pytest.mark.parametrize("case", sorted(IGNORED))
async def test_a_malformed_update_is_ignored(
    tg: FakeTelegram, frontend: TelegramFrontend, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    caplog.set_level(logging.INFO)
    start = len(caplog.records)
    tg.push_raw(IGNORED[case](tg))
    await _corridor_still_answered(tg)

    sent = tg.sent()
    assert [c.chat_id for c in sent] == [CHAT_ID]  # only the /corridor answer: no reply to the odd update
    assert t("error.internal") not in str(sent[0].params["text"])
    lines = _log_lines(caplog, start)
    assert len(lines) <= 1, [r.getMessage() for r in lines]
    assert all(r.levelno < logging.ERROR and r.exc_info is None for r in lines), [
        r.getMessage() for r in lines
    ]


async def test_ignored_updates_say_so_in_one_line(
    tg: FakeTelegram, frontend: TelegramFrontend, caplog: pytest.LogCaptureFixture
) -> None:
    """A command without sender, chat or text, and a button press without data, each leave one clear line."""
    caplog.set_level(logging.INFO)
    start = len(caplog.records)
    pushed = [tg.push_raw({"message": message(drop=("from",))})]
    pushed.append(tg.push_raw(callback_without_data(tg)))
    await _corridor_still_answered(tg)
    lines = [r.getMessage() for r in _log_lines(caplog, start)]
    assert len(lines) == 2, lines
    assert sum("ignoring" in line for line in lines) == 2
    assert any(str(pushed[0]) in line for line in lines)  # the update is named, so it can be found


async def test_the_bot_only_asks_for_the_updates_it_handles(
    tg: FakeTelegram, frontend: TelegramFrontend
) -> None:
    """Edits are never delivered at all: polling asks for messages, channel posts and button presses."""
    await _corridor_still_answered(tg)
    polls = [c for c in tg.calls_of("getUpdates") if "allowed_updates" in c.params]
    wanted = ["message", "channel_post", "callback_query"]
    assert polls and all(c.params["allowed_updates"] == wanted for c in polls)


@pytest.mark.parametrize("case", sorted(UNPARSEABLE))
async def test_an_update_ptb_cannot_parse_does_not_stop_the_bot(
    tg: FakeTelegram, tmp_path: Path, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    """The bad update is skipped (one log line), later updates are answered, polling does not spin, and the
    bot still shuts down cleanly."""
    caplog.set_level(logging.INFO)
    bot, db = await start_frontend(tg, tmp_path)
    stopped = False
    try:
        start = len(caplog.records)
        polls_before = len(tg.calls_of("getUpdates"))
        tg.push_raw(UNPARSEABLE[case])
        await asyncio.sleep(1.0)
        await _corridor_still_answered(tg, within=8)
        assert [c.chat_id for c in tg.sent()] == [CHAT_ID]
        lines = _log_lines(caplog, start)
        assert len(lines) <= 1, f"{len(lines)} log lines, e.g. {lines[0].getMessage()[:200]!r}"
        # Long polling: a handful of getUpdates calls in these seconds, not a hot loop hammering the API.
        assert len(tg.calls_of("getUpdates")) - polls_before <= 10
        await bot.stop()
        stopped = True
    finally:
        if not stopped:
            await force_stop(bot)
        db.close()


async def test_a_button_press_whose_answer_fails_still_runs_its_command(
    tg: FakeTelegram, frontend: TelegramFrontend, caplog: pytest.LogCaptureFixture
) -> None:
    """answerCallbackQuery only stops the button's spinner; when Telegram refuses it (a press older than
    its answer window, e.g. queued while the bot restarted), the command must still be answered."""
    caplog.set_level(logging.INFO)
    start = len(caplog.records)
    tg.fail_next(
        "answerCallbackQuery",
        status=400,
        retry_after=None,
        description="Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    tg.push_callback(CHAT_ID, USER["id"], "/srf")
    (call,) = await tg.wait_for("sendMessage")
    text = str(call.params["text"])
    assert t("error.internal") not in text
    assert "Standing Repo Facility" in text and "$50.350B" in text
    lines = _log_lines(caplog, start)
    assert len(lines) <= 1 and all(r.exc_info is None for r in lines), [r.getMessage() for r in lines]
