"""Delivering outbox messages to Telegram, with every Bot API failure mapped to what the worker should do."""

from __future__ import annotations

import os
from datetime import timedelta

from telegram import Bot
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
from bot.render.telegram import keyboard
from bot.render.text import TELEGRAM_CAPTION_LIMIT, to_telegram_html
from bot.words.reply import Reply


def opt_in_timedelta() -> None:
    """Take PTB's future behaviour (retry_after and friends as timedelta) instead of a deprecation warning.

    PTB reads the variable when it builds an error, so setting it before the first Bot exists is enough."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")


async def send_reply(
    bot: Bot, chat_id: int, reply: Reply, png: bytes | None = None, *, reply_to: int | None = None
) -> None:
    """The one way a reply reaches Telegram: HTML text, or a photo with an HTML caption, with its buttons."""
    markup = keyboard(reply)
    if png is not None:
        await bot.send_photo(
            chat_id,
            photo=png,
            caption=to_telegram_html(reply, limit=TELEGRAM_CAPTION_LIMIT),
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return
    await bot.send_message(
        chat_id,
        to_telegram_html(reply),
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        reply_to_message_id=reply_to,
        disable_web_page_preview=True,
    )


_GONE_PHRASES = ("chat not found", "user is deactivated", "bot was kicked", "not a member", "have no rights")


def _seconds(value: timedelta | float | int) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """A plain Bot (no PTB rate limiter): the delivery worker does its own pacing and retries."""

    platform = "telegram"

    def __init__(self, settings: Settings, *, read_timeout: float = 20.0) -> None:
        assert settings.telegram_bot_token
        opt_in_timedelta()
        request = HTTPXRequest(
            connection_pool_size=32, connect_timeout=10.0, read_timeout=read_timeout, write_timeout=30.0
        )
        self.bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_base_url, request=request)

    async def start(self) -> None:
        await self.bot.initialize()

    async def stop(self) -> None:
        await self.bot.shutdown()

    async def send(self, address: str, message: OutMessage) -> SendResult:
        try:
            await send_reply(self.bot, int(address), message.reply, message.png)
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
