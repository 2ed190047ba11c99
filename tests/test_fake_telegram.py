"""The fake Bot API against the real python-telegram-bot: what PTB sends is what the fake must accept."""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import AIORateLimiter, Application, CommandHandler, ContextTypes

from bot.delivery.aiohttp_request import AiohttpRequest
from tests.fakes.telegram import PNG_SIGNATURE, EntityParseError, FakeTelegram, parse_html
from tests.fakes.telegram_lean import LeanTelegram


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x10\x80\xf0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB 22 warns (PTBDeprecationWarning) while *constructing* RetryAfter, and -W error turns
    # that warning into the exception the caller sees instead of RetryAfter.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def background() -> AsyncIterator[list[asyncio.Task[object]]]:
    """Tasks a test starts; cancelled at teardown so a failing test leaks no pending request."""
    tasks: list[asyncio.Task[object]] = []
    yield tasks
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as real_bot:
        yield real_bot


async def test_get_me_and_what_ptb_sends(tg: FakeTelegram, bot: Bot) -> None:
    assert bot.username == "plumbline_test_bot"
    assert bot.id == tg.bot_id == 123456
    assert bot.can_join_groups is True
    assert bot.can_read_all_group_messages is False
    assert bot.supports_inline_queries is False
    (call,) = tg.calls_of("getMe")
    assert call.params == {} and call.files == {} and call.ok

    await bot.send_message(42, "hi", disable_notification=True)
    call = tg.sent(42)[0]
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.params == {"chat_id": 42, "text": "hi", "disable_notification": True}


async def test_wrong_token_is_unauthorized(tg: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong-token", base_url=tg.base_url):
            pass
    assert tg.calls[-1].status == 401
    assert tg.calls[-1].response == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_send_message_html_becomes_text_and_entities(tg: FakeTelegram, bot: Bot) -> None:
    html = '<b>SOFR</b> 5.31% &gt; IORB <a href="https://example.org/x?a=1&amp;b=2">src</a> — <i>ok</i>'
    message = await bot.send_message(-1001234567890, html, parse_mode=ParseMode.HTML)
    assert message.text == "SOFR 5.31% > IORB src — ok"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 4),
        ("text_link", 18, 3),
        ("italic", 24, 2),
    ]
    assert message.entities[1].url == "https://example.org/x?a=1&b=2"
    assert message.chat.type == "supergroup"
    assert message.from_user is not None and message.from_user.id == tg.bot_id
    second = await bot.send_message(-1001234567890, "again")
    assert second.message_id == message.message_id + 1
    assert [c.params["text"] for c in tg.sent(-1001234567890)] == [html, "again"]


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("a<br>b", 'Unsupported start tag "br" at byte offset 1'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("é<p>", 'Unsupported start tag "p" at byte offset 2'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        (
            "<a href>x</a>",
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
def test_html_errors_match_telegram(html: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(html)
    assert str(caught.value) == error


@pytest.mark.parametrize(
    ("html", "text", "types"),
    [
        ("a & b &amp; c &#x41; &unknown;", "a & b & c A &unknown;", []),
        ("1 > 2", "1 > 2", []),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1", ["pre"]),
        ("<blockquote expandable>q</blockquote>", "q", ["expandable_blockquote"]),
        ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>', "st", ["spoiler", "spoiler"]),
        ("<B>upper</B> <code>c</code>", "upper c", ["bold", "code"]),
        ("😀<b>x</b>", "😀x", ["bold"]),
    ],
)
def test_html_parses_like_telegram(html: str, text: str, types: list[str]) -> None:
    plain, entities = parse_html(html)
    assert plain == text
    assert [e["type"] for e in entities] == types
    if html.startswith("😀"):
        assert entities[0]["offset"] == 2  # UTF-16 code units, as Telegram counts


async def test_send_message_rejections(tg: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: unsupported start tag \"br\""):
        await bot.send_message(5, "line<br>line", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(5, "x" * 4097)
    await bot.send_message(
        5, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML
    )  # limit is on parsed text
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="d" * 65)]])
        await bot.send_message(5, "pick", reply_markup=markup)
    assert [c.status for c in tg.calls_of("sendMessage")] == [400, 400, 200, 400]
    assert len(tg.sent()) == 1
    # PTB strips "Bad Request: " and lower-cases the rest of the description before raising.
    assert (
        tg.calls_of("sendMessage")[0].response["description"].startswith("Bad Request: can't parse entities")
    )


async def test_send_photo_png_and_not_png(tg: FakeTelegram, bot: Bot) -> None:
    png = tiny_png(400, 300)
    message = await bot.send_photo(77, png, caption="<b>SOFR</b> 90d", parse_mode=ParseMode.HTML)
    assert message.caption == "SOFR 90d"
    assert [(p.width, p.height) for p in message.photo] == [(90, 68), (320, 240), (400, 300)]
    call = tg.sent(77)[0]
    assert call.content_type == "multipart/form-data"
    assert call.files["photo"] == png and "photo" not in call.params
    assert call.params["chat_id"] == 77 and call.text == "<b>SOFR</b> 90d"

    again = await bot.send_photo(77, message.photo[-1].file_id)  # re-send by file_id
    assert again.photo[-1].width == 400
    downloaded = await (await bot.get_file(message.photo[-1].file_id)).download_as_bytearray()
    assert bytes(downloaded) == png

    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(77, b"GIF89a not a png at all")
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(77, png[:-12])  # truncated upload
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(77, png, caption="c" * 1025)
    assert len(tg.sent(77)) == 2


async def test_set_and_get_my_commands(tg: FakeTelegram, bot: Bot) -> None:
    commands = [BotCommand("start", "Subscribe to alerts"), BotCommand("sofr", "SOFR vs the corridor")]
    assert await bot.set_my_commands(commands)
    assert await bot.set_my_commands(
        [BotCommand("status", "Group status")], scope=BotCommandScopeAllGroupChats()
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start", "sofr"]
    assert tg.commands() == [
        {"command": "start", "description": "Subscribe to alerts"},
        {"command": "sofr", "description": "SOFR vs the corridor"},
    ]
    assert tg.commands({"type": "all_group_chats"}) == [{"command": "status", "description": "Group status"}]
    assert isinstance(tg.calls_of("setMyCommands")[0].params["commands"], list)

    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "Capitals are rejected")])
    with pytest.raises(BadRequest, match=r"(?i)bot_command_description_invalid"):
        await bot.set_my_commands([BotCommand("start", "d" * 257)])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_get_updates_long_poll_and_offset(
    tg: FakeTelegram, bot: Bot, background: list[asyncio.Task[object]]
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5, allowed_updates=["message", "callback_query"]))
    background.append(poll)
    await asyncio.sleep(0.2)
    assert not poll.done()
    update_id = tg.push_message(1001, "/start@plumbline_test_bot now")
    (update,) = await poll
    assert time.monotonic() - started < 2
    assert update.update_id == update_id
    assert update.message is not None and update.message.text == "/start@plumbline_test_bot now"
    assert update.message.chat.type == "private" and update.message.from_user is not None
    assert update.message.from_user.username == "trader"
    assert [(e.type, e.offset, e.length) for e in update.message.entities] == [("bot_command", 0, 25)]
    call = tg.calls_of("getUpdates")[0]
    assert call.params["allowed_updates"] == ["message", "callback_query"] and call.params["timeout"] == 5

    # Unconfirmed updates come back; an offset past them confirms (drops) them.
    assert [u.update_id for u in await bot.get_updates()] == [update_id]
    assert await bot.get_updates(offset=update_id + 1) == ()
    assert tg.pending_updates == []

    started = time.monotonic()
    assert await bot.get_updates(offset=update_id + 1, timeout=1) == ()
    assert 0.9 < time.monotonic() - started < 3


async def test_group_message_and_callback_query(tg: FakeTelegram, bot: Bot) -> None:
    tg.push_message(-100777, "/sofr 90d", user_id=5, chat_type="group", chat_title="Desk")
    sent = await bot.send_message(
        -100777,
        "pick",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("90d", callback_data="c:90d")]]),
    )
    update_id = tg.push_callback(-100777, 5, "c:90d", message_id=sent.message_id, chat_type="group")
    first, second = await bot.get_updates()
    assert first.message is not None and first.message.chat.title == "Desk"
    assert first.message.message_id < sent.message_id
    assert second.update_id == update_id and second.callback_query is not None
    query = second.callback_query
    assert query.data == "c:90d" and query.from_user.id == 5
    assert query.message is not None and query.message.message_id == sent.message_id

    assert await bot.answer_callback_query(query.id, text="Rendering")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("123")
    edited = await bot.edit_message_text("done", chat_id=-100777, message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.text == "done" and edited.edit_date is not None
    stored = tg.message(-100777, sent.message_id)
    assert stored is not None and stored["text"] == "done"
    assert "reply_markup" not in stored  # editing text without reply_markup drops the keyboard
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("done", chat_id=-100777, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=-100777, message_id=999)


async def test_429_fault_is_retry_after(tg: FakeTelegram, bot: Bot) -> None:
    tg.fail_next("sendMessage", status=429, retry_after=1)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(9, "x")
    assert caught.value.retry_after == timedelta(seconds=1)
    assert tg.calls_of("sendMessage")[0].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    await bot.send_message(9, "x")
    assert len(tg.sent(9)) == 1


async def test_403_blocked_and_kicked(tg: FakeTelegram, bot: Bot) -> None:
    tg.fail_next("sendMessage", status=403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(9, "x")
    tg.blocked_chats.update({10, -200})
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_photo(10, tiny_png())
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.send_message(-200, "x")
    assert tg.sent() == []


async def test_migrate_fault_is_chat_migrated(tg: FakeTelegram, bot: Bot) -> None:
    tg.fail_next("sendMessage", status=400, migrate_to_chat_id=-1009876543210, chat_id=-55)
    await bot.send_message(-56, "other chats are unaffected")
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-55, "x")
    assert caught.value.new_chat_id == -1009876543210
    assert tg.calls_of("sendMessage")[-1].response["description"] == (
        "Bad Request: group chat was upgraded to a supergroup chat"
    )


async def test_5xx_faults_are_network_errors(tg: FakeTelegram, bot: Bot) -> None:
    tg.fail_next("sendMessage", status=500)
    tg.fail_next("sendMessage", status=502, body="<html><body><h1>502 Bad Gateway</h1></body></html>")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(1, "x")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(1, "x")
    assert [c.status for c in tg.calls_of("sendMessage")] == [500, 502]


async def test_enforced_limits_reject_a_burst() -> None:
    async with FakeTelegram(enforce_limits=True) as tg, Bot(tg.token, base_url=tg.base_url) as bot:
        results = await asyncio.gather(
            *(bot.send_message(1000 + i, f"alert {i}") for i in range(40)), return_exceptions=True
        )
        rejected = [r for r in results if isinstance(r, RetryAfter)]
        assert len(rejected) == 10 and tg.rejected_429 == 10
        assert all(r.retry_after == timedelta(seconds=1) for r in rejected)
        assert len(tg.sent()) == 30

        await asyncio.sleep(1.05)
        await bot.send_message(1, "first")
        with pytest.raises(RetryAfter):
            await bot.send_message(1, "second within a second")

        for i in range(20):
            await bot.send_message(-300, f"group {i}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(-300, "21st in a minute")
        assert isinstance(caught.value.retry_after, timedelta)
        assert 55 <= caught.value.retry_after.total_seconds() <= 60
        assert tg.rejected_429 == 12


async def test_aio_rate_limiter_retries_429_and_delivers_once(tg: FakeTelegram) -> None:
    app = (
        Application.builder()
        .token(tg.token)
        .base_url(tg.base_url)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )
    tg.fail_next("sendMessage", status=429, retry_after=1)
    async with app:
        message = await app.bot.send_message(chat_id=42, text="<b>SOFR</b> breach", parse_mode=ParseMode.HTML)
    assert message.text == "SOFR breach"
    assert [c.status for c in tg.calls_of("sendMessage")] == [429, 200]
    calls = tg.calls_of("sendMessage")
    assert calls[1].at - calls[0].at >= 1.0
    assert len(tg.sent(42)) == 1 and tg.duplicates() == []


async def test_application_polling_round_trip(tg: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("<b>Subscribed</b>", parse_mode=ParseMode.HTML)

    app = Application.builder().token(tg.token).base_url(tg.base_url).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        assert app.updater is not None
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1, drop_pending_updates=True)
        tg.push_message(1001, "/start")
        (reply,) = await tg.wait_for("sendMessage", timeout=5)
        await app.updater.stop()
        await app.stop()
    assert reply.params == {"chat_id": 1001, "text": "<b>Subscribed</b>", "parse_mode": "HTML"}
    assert reply.result["text"] == "Subscribed"
    assert tg.calls_of("deleteWebhook")[0].params == {"drop_pending_updates": True}
    assert tg.pending_updates == []  # the Updater confirms what it handled on the way out


async def test_delayed_answer_times_out_but_is_delivered(tg: FakeTelegram, bot: Bot) -> None:
    tg.delay_next("sendMessage", 0.5)
    with pytest.raises(TimedOut):
        await bot.send_message(7, "late", read_timeout=0.1)
    (call,) = await tg.wait_for("sendMessage", timeout=3)
    assert call.delayed and call.client_gone and call.ok
    await bot.send_message(7, "late")  # a naive retry
    assert tg.duplicates() == [(7, "late")]


async def test_dropped_connections(tg: FakeTelegram, bot: Bot) -> None:
    tg.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(8, "lost")
    tg.drop_next("sendMessage", after_delivery=True)
    with pytest.raises(NetworkError):
        await bot.send_message(8, "delivered anyway")
    assert [c.text for c in tg.sent(8)] == ["delivered anyway"]
    assert all(c.dropped for c in tg.calls_of("sendMessage"))


async def test_wait_for_timeout_lists_recorded_calls(tg: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(1, "one")
    with pytest.raises(TimeoutError, match=r"sendPhoto.*getMe \(1x200\); sendMessage \(1x200\)"):
        await tg.wait_for("sendPhoto", timeout=0.1)
    assert len(await tg.wait_for("sendmessage")) == 1


async def test_chat_members(tg: FakeTelegram, bot: Bot) -> None:
    assert (await bot.get_chat_member(-100, 5)).status == "member"
    tg.set_member_status(-100, 5, "administrator")
    tg.set_member_status(-100, 6, "creator")
    assert (await bot.get_chat_member(-100, 5)).status == "administrator"
    assert {m.status for m in await bot.get_chat_administrators(-100)} == {"administrator", "creator"}
    # In a private chat the user (and the bot) are plain members; nobody else is found.
    assert (await bot.get_chat_member(1001, 1001)).status == "member"
    with pytest.raises(BadRequest, match=r"(?i)member not found"):
        await bot.get_chat_member(1001, 2002)
    with pytest.raises(BadRequest, match=r"(?i)no administrators in the private chat"):
        await bot.get_chat_administrators(1001)
    tg.set_member_status(1001, 1001, "left")
    assert (await bot.get_chat_member(1001, 1001)).status == "left"
    chat = await bot.get_chat(-1001234567890)
    assert chat.type == "supergroup"


async def test_webhook_and_polling_conflicts(
    tg: FakeTelegram, bot: Bot, background: list[asyncio.Task[object]]
) -> None:
    assert await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook(drop_pending_updates=True)

    # A second poller (another process with the same token) ends the first one's long poll.
    first = asyncio.create_task(bot.get_updates(timeout=5))
    background.append(first)
    await asyncio.sleep(0.1)
    async with Bot(tg.token, base_url=tg.base_url) as other:
        assert await other.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await first
    assert await bot.send_chat_action(1, "typing")
    assert await bot.close() and await bot.log_out()


async def test_raw_http_shapes(tg: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=tg.base_url.removesuffix("/bot")) as client:
        response = await client.post(f"/bot{tg.token}/noSuchMethod")
        assert response.status_code == 404
        assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}

        response = await client.post(f"/bot{tg.token}/SENDMESSAGE", data={"chat_id": "3", "text": "[1, 2]"})
        assert response.json()["ok"] is True
        assert tg.calls[-1].method == "sendMessage" and tg.calls[-1].params == {
            "chat_id": 3,
            "text": "[1, 2]",
        }

        response = await client.post(
            f"/bot{tg.token}/sendMessage",
            json={"chat_id": 3, "text": "json body", "reply_markup": {"inline_keyboard": [[{"text": "t"}]]}},
        )
        assert response.status_code == 400
        assert "Text buttons are unallowed" in response.json()["description"]

        response = await client.get(f"/bot{tg.token}/getMe")
        assert response.json()["result"]["username"] == "plumbline_test_bot"
        response = await client.get(f"/bot{tg.token}/sendMessage", params={"chat_id": "4", "text": "query"})
        assert response.json()["result"]["chat"] == {"id": 4, "type": "private", "first_name": "Trader"}

        tg.push_raw({"message": {"garbage": True}})
        response = await client.post(f"/bot{tg.token}/getUpdates", data={"offset": "0"})
        assert response.json()["result"][0]["message"] == {"garbage": True}


def _shape(value: object) -> object:
    """The keys of an answer, nested, without the values: what PTB parses."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value[:1]]
    return type(value).__name__


async def test_the_lean_fake_answers_sends_as_the_full_one_does() -> None:
    """bench_broadcast's LeanTelegram keeps only counts, but its answers must be the full fake's."""
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Chart", callback_data="chart sofr 1m")]])
    answers: list[list[object]] = []
    for fake in (FakeTelegram(), LeanTelegram()):
        async with fake:
            request = AiohttpRequest()
            async with Bot(fake.token, base_url=fake.base_url, request=request) as bot:
                text = await bot.send_message(
                    42, "<b>SOFR</b> above the ceiling", parse_mode=ParseMode.HTML, reply_markup=markup,
                    allow_paid_broadcast=True,
                )  # fmt: skip
                upload = await bot.send_photo(43, tiny_png(), caption="<i>1m</i>", parse_mode=ParseMode.HTML)
                reused = await bot.send_photo(44, upload.photo[-1].file_id, caption="again")
                with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
                    await bot.send_photo(45, "AgACAgEAAxkDAAIunknown")
            answers.append(
                [text.text, text.entities, text.reply_markup, upload.caption_entities, reused.caption]
            )
            answers[-1] += [_shape(m.to_dict()) for m in (text, upload, reused)]
            if isinstance(fake, LeanTelegram):
                assert fake.per_chat == {42: 1, 43: 1, 44: 1} and fake.duplicated() == 0
                assert fake.paid_sends == 1 and fake.uploads == 1 and len(fake.times) == 3
    full, lean = answers
    assert lean == full
