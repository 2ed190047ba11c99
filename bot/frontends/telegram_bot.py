"""Telegram front-end: parse updates, call the shared command table, render HTML and charts."""

from __future__ import annotations

import logging
from typing import Any

import sqlite_utils
from telegram import BotCommand, Update
from telegram.constants import ChatAction, ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.core.clock import Clock, utcnow
from bot.core.config import Settings
from bot.core.lang import pick_lang
from bot.delivery.telegram_sender import opt_in_timedelta, send_reply
from bot.frontends.gate import Gate, Gated
from bot.frontends.ratelimit import ChatRateLimiter
from bot.render.charts import render_png_async
from bot.words.messages import t
from bot.words.reply import Context, Reply
from handlers.lang_command import chat_lang
from handlers.table import COMMANDS, dispatch, parse_command

log = logging.getLogger(__name__)
JSONDict = dict[str, Any]


_ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}
_GROUP_TYPES = {ChatType.GROUP, ChatType.SUPERGROUP}


class TolerantBot(ExtBot[Any]):
    """An ExtBot that skips an update it cannot read instead of fetching it again forever.

    PTB parses a getUpdates batch as a whole; one malformed update would stop every later one (and
    spin the poll loop). Each update is checked alone; an unreadable one is replaced by its bare id,
    which no handler matches, so the offset moves past it.
    """

    async def _post(self, endpoint: str, data: JSONDict | None = None, *args: Any, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, data, *args, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            return [item for item in (self._readable(raw) for raw in result) if item is not None]
        return result

    def _readable(self, raw: object) -> JSONDict | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("update_id"), int):
            log.warning("telegram: dropping an update without an id")
            return None
        try:
            Update.de_json(dict(raw), self)
        except Exception as exc:
            log.warning(
                "telegram: skipping update %s that could not be read (%s)",
                raw["update_id"],
                type(exc).__name__,
            )
            return {"update_id": raw["update_id"]}
        return raw


def menu_commands(lang: str = "en") -> list[BotCommand]:
    """The command menu for setMyCommands, straight from the command table, in one language."""
    return [BotCommand(c.name, t(f"cmd.{c.name}", lang)[:256]) for c in COMMANDS.values() if not c.hidden]


# setMyCommands takes two-letter codes only, so "zh" cannot tell Traditional from Simplified: the bot's
# Chinese is Traditional, and so is its menu.
MENU_LANGUAGES: dict[str | None, str] = {None: "en", "zh": "zh-TW"}


class TelegramFrontend(Gated):
    """Owns the PTB Application; started and stopped by hand inside the bot's one event loop."""

    def __init__(
        self,
        settings: Settings,
        db: sqlite_utils.Database,
        *,
        clock: Clock = utcnow,
        limiter: ChatRateLimiter | None = None,
    ) -> None:
        if not settings.telegram_bot_token:
            raise ValueError("TelegramFrontend needs TELEGRAM_BOT_TOKEN")
        opt_in_timedelta()
        self.settings = settings
        self.db = db
        self.clock = clock
        self.gate = Gate(settings, limiter)
        bot = TolerantBot(
            settings.telegram_bot_token,
            base_url=settings.telegram_api_base_url,
            base_file_url=settings.telegram_api_base_url.removesuffix("/bot") + "/file/bot",
            request=HTTPXRequest(
                connection_pool_size=32, connect_timeout=10.0, read_timeout=20.0, write_timeout=30.0
            ),
            get_updates_request=HTTPXRequest(connect_timeout=10.0, read_timeout=35.0),
            rate_limiter=AIORateLimiter(max_retries=3),
        )
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            Application.builder().bot(bot).concurrent_updates(16).build()
        )
        self.app.add_handler(MessageHandler(filters.COMMAND, self.on_command))
        self.app.add_handler(CallbackQueryHandler(self.on_callback))
        self.app.add_error_handler(self.on_error)

    @property
    def username(self) -> str:
        return self.app.bot.username if self.app.bot.bot else ""

    async def start(self) -> None:
        """Initialise, register the command menu and start long polling."""
        await self.app.initialize()
        try:
            for code, lang in MENU_LANGUAGES.items():
                await self.app.bot.set_my_commands(menu_commands(lang), language_code=code)
        except TelegramError as exc:
            log.warning("telegram: could not register the command menu: %s", exc)
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(
            allowed_updates=["message", "callback_query"], drop_pending_updates=False
        )
        log.info("telegram: polling as @%s", self.username)

    async def stop(self) -> None:
        """Stop polling and shut the application down; safe if start failed half-way."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    async def _is_chat_admin(self, chat_id: int, chat_type: str, user_id: int) -> bool:
        if chat_type not in _GROUP_TYPES:
            return True
        try:
            member = await self.app.bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            log.warning("telegram: cannot check admin rights in chat %s: %s", chat_id, exc)
            return False
        return member.status in _ADMIN_STATUSES

    async def handle_text(
        self,
        chat_id: int,
        chat_type: str,
        user_id: int,
        text: str,
        chat_title: str = "",
        language_code: str | None = None,
    ) -> Reply | None:
        """Turn one command line from a chat into a reply (None when it is not for this bot).

        language_code is the sender's Telegram client language: the reply's unless /lang chose one."""
        parsed = parse_command(text, self.username)
        if parsed is None:
            return None
        lang = chat_lang(self.db, "telegram", str(chat_id), language_code)
        refusal = self.gate.check("tg", str(chat_id), chat_id, lang=lang)
        if refusal is not None:
            return Reply(title=refusal.text, level="error")
        command = COMMANDS.get(parsed.name)
        needs_admin = command is not None and command.changes_subscriptions
        ctx = Context(
            platform="telegram",
            chat_id=str(chat_id),
            user_id=str(user_id),
            now=self.clock(),
            is_group=chat_type in _GROUP_TYPES,
            is_chat_admin=await self._is_chat_admin(chat_id, chat_type, user_id) if needs_admin else False,
            is_operator=self.gate.is_operator(user_id),
            lang=lang,
            tight_bp=self.settings.tight_bp,
            bot_username=self.username,
            chat_title=chat_title,
        )
        return dispatch(text, ctx, self.db)

    async def send_reply(self, chat_id: int, reply: Reply, reply_to: int | None = None) -> None:
        """Send a reply as HTML, or as a photo with an HTML caption when it carries a chart."""
        png = None
        if reply.chart is not None:
            await self.app.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
            png = await render_png_async(reply.chart)
        await send_reply(self.app.bot, chat_id, reply, png, reply_to=reply_to)

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message starting with a bot command."""
        message = update.effective_message
        chat = update.effective_chat
        user = update.effective_user
        if message is None or chat is None or user is None or not message.text:
            log.info(
                "telegram: ignoring an update without text, chat or sender (update %s)", update.update_id
            )
            return
        title = chat.title or chat.full_name or ""
        reply = await self.handle_text(chat.id, chat.type, user.id, message.text, title, user.language_code)
        if reply is not None:
            await self.send_reply(
                chat.id, reply, reply_to=message.message_id if chat.type in _GROUP_TYPES else None
            )

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline button press: its data is a command line."""
        query = update.callback_query
        if query is None:
            return
        try:
            await query.answer()  # only stops the button's spinner: a refusal must not lose the command
        except TelegramError as exc:
            log.info("telegram: could not answer a button press (%s); running its command anyway", exc)
        chat = update.effective_chat
        if chat is None or not isinstance(query.data, str):
            log.info("telegram: ignoring a callback without chat or data")
            return
        title = chat.title or chat.full_name or ""
        reply = await self.handle_text(
            chat.id, chat.type, query.from_user.id, query.data, title, query.from_user.language_code
        )
        if reply is not None:
            await self.send_reply(chat.id, reply)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure with its traceback; tell the chat only that something went wrong."""
        log.error("telegram: error while handling an update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                user = update.effective_user
                lang = pick_lang(None, user.language_code if user else None)
                await self.app.bot.send_message(update.effective_chat.id, t("error.internal", lang))
            except TelegramError:
                log.warning("telegram: could not send the apology either")
