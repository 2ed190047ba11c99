"""Delivering outbox messages to Telegram, with every Bot API failure mapped to what the worker should do."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections import OrderedDict
from datetime import timedelta

import aiohttp
import httpx
from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.request import BaseRequest

from bot.core.config import Settings
from bot.delivery.aiohttp_request import AiohttpRequest
from bot.delivery.worker import NotSent, OutMessage, SendResult, SendStatus, delivery_concurrency, never_sent
from bot.render.telegram import keyboard
from bot.render.text import TELEGRAM_CAPTION_LIMIT, split_telegram_html, to_telegram_html
from bot.words.reply import Reply


def opt_in_timedelta() -> None:
    """Take PTB's future behaviour (retry_after and friends as timedelta) instead of a deprecation warning.

    PTB reads the variable when it builds an error, so setting it before the first Bot exists is enough."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")


async def send_reply(
    bot: Bot,
    chat_id: int,
    reply: Reply,
    photo: bytes | str | None = None,
    *,
    reply_to: int | None = None,
    paid_broadcast: bool = False,
) -> Message:
    """The one way a reply reaches Telegram: HTML text (cut at line breaks into messages of at most 4096
    characters, the buttons on the last), or a photo (the PNG, or the file_id of one already uploaded)
    with an HTML caption. Returns the last message sent."""
    markup = keyboard(reply)
    paid = True if paid_broadcast else None  # left out of the request unless paid broadcasts are on
    if photo is not None:
        return await bot.send_photo(
            chat_id,
            photo=photo,
            caption=to_telegram_html(reply, limit=TELEGRAM_CAPTION_LIMIT),
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            allow_paid_broadcast=paid,
        )
    parts = split_telegram_html(to_telegram_html(reply, limit=_WHOLE))
    sent: Message | None = None
    for index, part in enumerate(parts):
        sent = await bot.send_message(
            chat_id,
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if index == len(parts) - 1 else None,
            reply_to_message_id=reply_to if index == 0 else None,
            disable_web_page_preview=True,
            allow_paid_broadcast=paid,
        )
    assert sent is not None  # a reply always has at least its title
    return sent


# No cut when rendering: split_telegram_html does the cutting, at line breaks.
_WHOLE = 1 << 20
# How many charts' file_ids to remember: one per alert or summary in flight is plenty.
_FILE_ID_CACHE = 32
_STALE_FILE_ID = "wrong file identifier"
_GONE_PHRASES = ("chat not found", "user is deactivated", "bot was kicked", "not a member", "have no rights")


class _QuietInvalidJson(logging.Filter):
    """PTB logs a full traceback for every non-JSON answer (a 502 HTML page); the worker logs one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Can not load invalid JSON data")


_QUIET = _QuietInvalidJson()


def quiet_ptb_html_errors() -> None:
    """Install the filter once on PTB's request logger (idempotent; not at import time)."""
    logger = logging.getLogger("telegram.request.BaseRequest")
    if _QUIET not in logger.filters:
        logger.addFilter(_QUIET)


def _short(message: str) -> str:
    """'Bad Gateway (502). Parsing the server response b'<html>...' failed' -> 'Bad Gateway (502)'."""
    return message.split(". Parsing the server response", 1)[0][:120]


def _cause_name(exc: BaseException) -> str:
    """What failed under a library error: 'ClientConnectorError', not the NotSent marker around it."""
    cause = exc.__cause__
    if isinstance(cause, NotSent) and cause.__cause__ is not None:
        cause = cause.__cause__
    return type(cause).__name__


def _seconds(value: timedelta | float | int) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """A plain Bot (no PTB rate limiter) on AiohttpRequest: the delivery worker does its own pacing and
    retries.

    A chart is uploaded once per fan-out: the first send carries the PNG, and every later send of the
    same picture reuses the file_id Telegram gave it. Sends of a picture not yet uploaded wait for the
    upload in flight instead of uploading it again.
    """

    platform = "telegram"

    def __init__(
        self,
        settings: Settings,
        *,
        read_timeout: float = 20.0,
        pool_size: int | None = None,
        request: BaseRequest | None = None,
    ) -> None:
        """request replaces the HTTP layer (by default an AiohttpRequest with the timeouts given, and a
        connection for each send the worker keeps in flight)."""
        assert settings.telegram_bot_token
        opt_in_timedelta()
        if request is None:
            request = AiohttpRequest(
                connection_pool_size=pool_size
                or max(32, delivery_concurrency(settings.telegram_paid_broadcast)),
                connect_timeout=10.0,
                read_timeout=read_timeout,
                write_timeout=30.0,
            )
        self._request = request
        self.bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_base_url, request=request)
        quiet_ptb_html_errors()
        self.paid_broadcast = settings.telegram_paid_broadcast
        self.uploads = 0
        self._file_ids: OrderedDict[str, str] = OrderedDict()
        self._uploading: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        await self.bot.initialize()

    async def stop(self) -> None:
        await self.bot.shutdown()
        await self._request.shutdown()  # Bot.shutdown skips it when start failed before initialising

    async def _send_photo(self, chat_id: int, reply: Reply, png: bytes) -> None:
        digest = hashlib.sha256(png).hexdigest()
        if await self._reuse(digest, chat_id, reply):
            return
        lock = self._uploading.setdefault(digest, asyncio.Lock())
        async with lock:  # one upload at a time per picture; the others wait, then reuse its file_id
            if await self._reuse(digest, chat_id, reply):
                return
            sent = await send_reply(self.bot, chat_id, reply, png, paid_broadcast=self.paid_broadcast)
            self.uploads += 1
            if sent.photo:
                self._file_ids[digest] = sent.photo[-1].file_id
                while len(self._file_ids) > _FILE_ID_CACHE:
                    self._file_ids.popitem(last=False)
                self._uploading.pop(digest, None)

    async def _reuse(self, digest: str, chat_id: int, reply: Reply) -> bool:
        """Send by file_id if this picture was uploaded already; False when it must be uploaded."""
        file_id = self._file_ids.get(digest)
        if file_id is None:
            return False
        try:
            await send_reply(self.bot, chat_id, reply, file_id, paid_broadcast=self.paid_broadcast)
        except BadRequest as exc:
            if _STALE_FILE_ID not in exc.message.lower():
                raise
            self._file_ids.pop(digest, None)  # no longer valid on Telegram's side: upload afresh
            return False
        return True

    async def send(self, address: str, message: OutMessage) -> SendResult:
        chat_id = int(address)
        try:
            if message.png is not None:
                await self._send_photo(chat_id, message.reply, message.png)
            else:
                await send_reply(self.bot, chat_id, message.reply, paid_broadcast=self.paid_broadcast)
        except RetryAfter as exc:
            return SendResult(
                SendStatus.THROTTLED, retry_after=_seconds(exc.retry_after), error="429 flood control"
            )
        except ChatMigrated as exc:
            return SendResult(SendStatus.MIGRATED, new_address=str(exc.new_chat_id), error="migrated")
        except Forbidden as exc:
            return SendResult(SendStatus.GONE, error=f"403 {exc.message}")
        except TimedOut as exc:
            # A pool or connect timeout means the request never left; a read timeout may have been delivered.
            if never_sent(exc) or "pool timeout" in exc.message.lower():
                return SendResult(
                    SendStatus.RETRY, error="not sent (connection pool busy or connect timeout)"
                )
            return SendResult(SendStatus.UNCERTAIN, error="timed out waiting for Telegram")
        except BadRequest as exc:
            text = exc.message.lower()
            if any(phrase in text for phrase in _GONE_PHRASES):
                return SendResult(SendStatus.GONE, error=f"400 {exc.message}")
            return SendResult(SendStatus.FAILED, error=f"400 {exc.message}")
        except InvalidToken:
            return SendResult(SendStatus.RETRY, retry_after=300.0, error="Telegram rejected the bot token")
        except NetworkError as exc:
            if never_sent(exc):
                return SendResult(SendStatus.RETRY, error=f"not sent: {_cause_name(exc)}")
            if isinstance(
                exc.__cause__, httpx.HTTPError | aiohttp.ClientError | OSError
            ) or exc.message.startswith(("httpx.", "aiohttp.", "Unknown error in HTTP implementation")):
                # Cut off after the request went out (read error, reset mid-answer): it may have arrived.
                return SendResult(
                    SendStatus.UNCERTAIN, error=f"connection lost mid-send: {_short(exc.message)}"
                )
            # An HTTP answer (5xx page): Telegram did not take the message.
            return SendResult(SendStatus.RETRY, error=_short(exc.message))
        return SendResult(SendStatus.SENT)
