"""Delivering outbox messages to Telegram, with every Bot API failure mapped to what the worker should do."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import OrderedDict
from datetime import timedelta

from telegram import Bot, InlineKeyboardMarkup, Message
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
from telegram.request import HTTPXRequest

from bot.core.config import Settings
from bot.delivery.worker import OutMessage, SendResult, SendStatus
from bot.frontends.telegram_bot import keyboard
from bot.render.text import TELEGRAM_CAPTION_LIMIT, to_telegram_html

os.environ.setdefault("PTB_TIMEDELTA", "true")

# How many charts' file_ids to remember: one per alert or summary in flight is plenty.
_FILE_ID_CACHE = 32
_STALE_FILE_ID = "wrong file identifier"
_GONE_PHRASES = ("chat not found", "user is deactivated", "bot was kicked", "not a member", "have no rights")


def _seconds(value: timedelta | float | int) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """A plain Bot (no PTB rate limiter): the delivery worker does its own pacing and retries.

    A chart is uploaded once per fan-out: the first send carries the PNG, and every later send of the
    same picture reuses the file_id Telegram gave it. Sends of a picture not yet uploaded wait for the
    upload in flight instead of uploading it again.
    """

    platform = "telegram"

    def __init__(self, settings: Settings, *, read_timeout: float = 20.0, pool_size: int = 32) -> None:
        assert settings.telegram_bot_token
        request = HTTPXRequest(
            connection_pool_size=pool_size,
            connect_timeout=10.0,
            read_timeout=read_timeout,
            write_timeout=30.0,
        )
        self.bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_base_url, request=request)
        self.paid_broadcast = settings.telegram_paid_broadcast
        self.uploads = 0
        self._file_ids: OrderedDict[str, str] = OrderedDict()
        self._uploading: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        await self.bot.initialize()

    async def stop(self) -> None:
        await self.bot.shutdown()

    @property
    def _paid(self) -> bool | None:
        """allow_paid_broadcast=True when paid broadcasts are on; left out of the request otherwise."""
        return True if self.paid_broadcast else None

    async def _send_photo(
        self, chat_id: int, png: bytes, caption: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        digest = hashlib.sha256(png).hexdigest()
        if await self._reuse(digest, chat_id, caption, markup):
            return
        lock = self._uploading.setdefault(digest, asyncio.Lock())
        async with lock:  # one upload at a time per picture; the others wait, then reuse its file_id
            if await self._reuse(digest, chat_id, caption, markup):
                return
            sent = await self._photo(chat_id, png, caption, markup)
            self.uploads += 1
            if sent.photo:
                self._file_ids[digest] = sent.photo[-1].file_id
                while len(self._file_ids) > _FILE_ID_CACHE:
                    self._file_ids.popitem(last=False)
                self._uploading.pop(digest, None)

    async def _reuse(
        self, digest: str, chat_id: int, caption: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """Send by file_id if this picture was uploaded already; False when it must be uploaded."""
        file_id = self._file_ids.get(digest)
        if file_id is None:
            return False
        try:
            await self._photo(chat_id, file_id, caption, markup)
        except BadRequest as exc:
            if _STALE_FILE_ID not in exc.message.lower():
                raise
            self._file_ids.pop(digest, None)  # no longer valid on Telegram's side: upload afresh
            return False
        return True

    async def _photo(
        self, chat_id: int, photo: bytes | str, caption: str, markup: InlineKeyboardMarkup | None
    ) -> Message:
        return await self.bot.send_photo(
            chat_id,
            photo=photo,
            caption=caption,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            allow_paid_broadcast=self._paid,
        )

    async def send(self, address: str, message: OutMessage) -> SendResult:
        chat_id = int(address)
        markup = keyboard(message.reply)
        try:
            if message.png is not None:
                caption = to_telegram_html(message.reply, limit=TELEGRAM_CAPTION_LIMIT)
                await self._send_photo(chat_id, message.png, caption, markup)
            else:
                await self.bot.send_message(
                    chat_id,
                    to_telegram_html(message.reply),
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    disable_web_page_preview=True,
                    allow_paid_broadcast=self._paid,
                )
        except RetryAfter as exc:
            return SendResult(
                SendStatus.RETRY, retry_after=_seconds(exc.retry_after), error="429 flood control"
            )
        except ChatMigrated as exc:
            return SendResult(SendStatus.MIGRATED, new_address=str(exc.new_chat_id), error="migrated")
        except Forbidden as exc:
            return SendResult(SendStatus.GONE, error=f"403 {exc.message}")
        except TimedOut as exc:
            # A pool timeout means the request never left; any other timeout may have been delivered.
            if "pool" in str(exc).lower():
                return SendResult(SendStatus.RETRY, error="connection pool busy")
            return SendResult(SendStatus.UNCERTAIN, error="timed out waiting for Telegram")
        except BadRequest as exc:
            text = exc.message.lower()
            if any(phrase in text for phrase in _GONE_PHRASES):
                return SendResult(SendStatus.GONE, error=f"400 {exc.message}")
            return SendResult(SendStatus.FAILED, error=f"400 {exc.message}")
        except InvalidToken:
            return SendResult(SendStatus.RETRY, retry_after=300.0, error="Telegram rejected the bot token")
        except NetworkError as exc:
            # Cut off after the request went out: Telegram may have delivered it.
            if any(word in exc.message for word in ("ReadError", "RemoteProtocolError", "ReadTimeout")):
                return SendResult(SendStatus.UNCERTAIN, error=f"connection lost mid-send: {exc.message[:80]}")
            return SendResult(SendStatus.RETRY, error=f"network: {exc.message[:120]}")
        return SendResult(SendStatus.SENT)
