"""Telegram front-end: parse updates, call the shared command table, render HTML and charts."""

from __future__ import annotations

import logging
from typing import Any

import sqlite_utils
from telegram import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    Chat,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
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
from bot.render.chart_process import with_chart
from bot.render.telegram import keyboard
from bot.render.text import to_telegram_html
from bot.words.messages import t
from bot.words.reply import Context, Reply
from handlers.lang_command import chat_lang
from handlers.table import COMMANDS, Command, dispatch, parse_command, run_command
from storage.lane import DbLane

log = logging.getLogger(__name__)
# The refusal that sends nothing: a flood already told once to slow down.
_SILENT = Reply(title="", level="error")
JSONDict = dict[str, Any]

_ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}
_GROUP_TYPES = {ChatType.GROUP, ChatType.SUPERGROUP}
_SHARED_TYPES = {ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL}
_POPUP_LIMIT = 200  # answerCallbackQuery text
# The user id Telegram shows for an anonymous group administrator (posting as the group itself).
_ANONYMOUS_ADMIN_ID = 1087968824
# Messages and channel posts; edits are not commands (they would run a command a second time).
_NEW_POSTS = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
_ALLOWED_UPDATES = ["message", "channel_post", "callback_query"]


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


def _menu(commands: list[Command], lang: str) -> list[BotCommand]:
    return [BotCommand(c.name, t(f"cmd.{c.name}", lang)[:256]) for c in commands]


def menu_commands(lang: str = "en") -> list[BotCommand]:
    """The menu in private chats and for group administrators: every visible command, in one language."""
    return _menu([c for c in COMMANDS.values() if not c.hidden], lang)


# setMyCommands takes two-letter codes only, so "zh" cannot tell Traditional from Simplified: the bot's
# Chinese is Traditional, and so is its menu.
MENU_LANGUAGES: dict[str | None, str] = {None: "en", "zh": "zh-TW"}


def menu_scopes(settings: Settings, lang: str = "en") -> list[tuple[BotCommandScope, list[BotCommand]]]:
    """Command menus by scope: members of a group see no subscription commands (they cannot run them),
    administrators and private chats see them all, and each operator's own chat adds /admin."""
    visible = [c for c in COMMANDS.values() if not c.hidden]
    members = [c for c in visible if not c.changes_subscriptions]
    operators = visible + [c for c in COMMANDS.values() if c.operator_only]
    scopes: list[tuple[BotCommandScope, list[BotCommand]]] = [
        (BotCommandScopeDefault(), _menu(visible, lang)),
        (BotCommandScopeAllPrivateChats(), _menu(visible, lang)),
        (BotCommandScopeAllGroupChats(), _menu(members, lang)),
        (BotCommandScopeAllChatAdministrators(), _menu(visible, lang)),
    ]
    scopes += [
        (BotCommandScopeChat(user_id), _menu(operators, lang)) for user_id in sorted(settings.admin_user_ids)
    ]
    return scopes


def _popup(reply: Reply) -> str:
    """A reply shortened for a button's pop-up (at most 200 characters)."""
    text = reply.title
    if len(text) > _POPUP_LIMIT:
        text = text[: _POPUP_LIMIT - 1] + "\u2026"
    return text


class TelegramFrontend(Gated):
    """Owns the PTB Application; started and stopped by hand inside the bot's one event loop.

    Commands go through PTB's CommandHandler, which leaves alone a command addressed to another bot
    (/srf@other_bot); channel posts are handled like messages, so a channel whose administrators
    added the bot can subscribe. Button presses answer with a pop-up, and a settings button edits
    the message it sits on instead of sending a new one.
    """

    def __init__(
        self,
        settings: Settings,
        db: sqlite_utils.Database,
        *,
        clock: Clock = utcnow,
        limiter: ChatRateLimiter | None = None,
        lane: DbLane | None = None,
    ) -> None:
        if not settings.telegram_bot_token:
            raise ValueError("TelegramFrontend needs TELEGRAM_BOT_TOKEN")
        opt_in_timedelta()
        self.settings = settings
        self.db = db
        self.lane = lane or DbLane(db)
        self._owns_lane = lane is None
        self.clock = clock
        self.gate = Gate(settings, limiter)
        # Kept so stop() can close them even when start failed before PTB initialised (it then skips them).
        self._requests = (
            HTTPXRequest(
                connection_pool_size=32, connect_timeout=10.0, read_timeout=20.0, write_timeout=30.0
            ),
            HTTPXRequest(connect_timeout=10.0, read_timeout=35.0),
        )
        bot = TolerantBot(
            settings.telegram_bot_token,
            base_url=settings.telegram_api_base_url,
            base_file_url=settings.telegram_api_base_url.removesuffix("/bot") + "/file/bot",
            request=self._requests[0],
            get_updates_request=self._requests[1],
            rate_limiter=AIORateLimiter(max_retries=3),
        )
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            Application.builder().bot(bot).concurrent_updates(16).build()
        )
        self.app.add_handler(CommandHandler(list(COMMANDS), self.on_command, filters=_NEW_POSTS))
        # Not in the table (or mangled by a client): the shared parser decides, the table answers.
        self.app.add_handler(MessageHandler(_NEW_POSTS & filters.COMMAND, self.on_other_command))
        self.app.add_handler(CallbackQueryHandler(self.on_callback))
        self.app.add_error_handler(self.on_error)

    @property
    def username(self) -> str:
        return self.app.bot.username if self.app.bot.bot else ""

    async def start(self) -> None:
        """Initialise, register the command menus and start long polling."""
        await self.app.initialize()
        await self.register_menus()
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(allowed_updates=_ALLOWED_UPDATES, drop_pending_updates=False)
        log.info("telegram: polling as @%s", self.username)

    async def register_menus(self) -> None:
        """setMyCommands for each scope and language; one failing (an operator who never opened the bot)
        skips only it."""
        for code, lang in MENU_LANGUAGES.items():
            for scope, commands in menu_scopes(self.settings, lang):
                try:
                    await self.app.bot.set_my_commands(commands, scope=scope, language_code=code)
                except TelegramError as exc:
                    log.warning("telegram: could not register the %s command menu: %s", scope.type, exc)

    async def stop(self) -> None:
        """Stop polling and shut the application down; safe if start failed half-way."""
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        for request in self._requests:
            await request.shutdown()
        if self._owns_lane:
            self.lane.close()

    async def _is_chat_admin(self, chat: Chat, user_id: int) -> bool:
        if chat.type == ChatType.CHANNEL or chat.type not in _GROUP_TYPES:
            return True  # only a channel's administrators can post in it; a private chat is its own
        if user_id in (_ANONYMOUS_ADMIN_ID, chat.id):
            return True  # an anonymous administrator posts as the group itself
        try:
            member = await self.app.bot.get_chat_member(chat.id, user_id)
        except TelegramError as exc:
            log.warning("telegram: cannot check admin rights in chat %s: %s", chat.id, exc)
            return False
        return member.status in _ADMIN_STATUSES

    def _refusal(self, chat_id: int, lang: str) -> Reply | None:
        """Not this deployment's chat, or a chat sending too fast: the reply that says so."""
        refusal = self.gate.check("tg", str(chat_id), chat_id, lang=lang)
        if refusal is not None and refusal.silent:
            return _SILENT
        return None if refusal is None else Reply(title=refusal.text, level="error")

    def _lang(self, chat: Chat, language_code: str | None) -> str:
        """The chat's /lang choice, else the sender's Telegram client language."""
        return chat_lang(self.db, "telegram", str(chat.id), language_code)

    async def _context(self, chat: Chat, user_id: int, needs_admin: bool, lang: str) -> Context:
        return Context(
            platform="telegram",
            chat_id=str(chat.id),
            user_id=str(user_id),
            now=self.clock(),
            is_group=chat.type in _SHARED_TYPES,
            is_chat_admin=await self._is_chat_admin(chat, user_id) if needs_admin else False,
            is_operator=self.gate.is_operator(user_id),
            lang=lang,
            tight_bp=self.settings.tight_bp,
            bot_username=self.username,
            chat_title=chat.title or chat.full_name or "",
        )

    async def handle_text(
        self, chat: Chat, user_id: int, text: str, language_code: str | None = None
    ) -> Reply | None:
        """Turn one command line from a chat into a reply (None when it is not for this bot).

        language_code is the sender's Telegram client language: the reply's unless /lang chose one."""
        parsed = parse_command(text, self.username)
        if parsed is None:
            return None
        lang = self._lang(chat, language_code)
        refused = self._refusal(chat.id, lang)
        if refused is _SILENT:
            return None  # told to slow down once in this flood: silence now
        if refused is not None:
            return refused
        command = COMMANDS.get(parsed.name)
        needs_admin = command is not None and command.changes_subscriptions
        context = await self._context(chat, user_id, needs_admin, lang)
        return await self.lane.run(lambda db: dispatch(text, context, db))

    async def send_reply(self, chat_id: int, reply: Reply, reply_to: int | None = None) -> None:
        """Send a reply through the one Telegram send path (a long text arrives in parts, cut at line
        breaks), or as a photo with an HTML caption when it carries a chart."""
        if reply.chart is not None:
            await self.app.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
        reply, png = await with_chart(reply)
        await send_reply(self.app.bot, chat_id, reply, png, reply_to=reply_to)

    @staticmethod
    def _sender_id(update: Update, chat: Chat) -> int:
        """Who sent it: the user, or for a channel post (no user) the channel itself."""
        user = update.effective_user
        return user.id if user is not None else chat.id

    @staticmethod
    def _language_code(update: Update) -> str | None:
        user = update.effective_user
        return user.language_code if user is not None else None

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command from the table, addressed to this bot (PTB checks the @username)."""
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None or not message.text:
            log.info("telegram: ignoring a command without text or chat (update %s)", update.update_id)
            return
        if update.effective_user is None and chat.type != ChatType.CHANNEL:
            log.info("telegram: ignoring a command without a sender (update %s)", update.update_id)
            return
        reply = await self.handle_text(
            chat, self._sender_id(update, chat), message.text, self._language_code(update)
        )
        if reply is not None:
            await self.send_reply(chat.id, reply, reply_to=self._reply_to(chat, message))

    async def on_other_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command PTB did not match: answered in private chats, or when addressed to this bot by
        name; in a group a bare /unknown is probably another bot's, and is left alone."""
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None or not message.text:
            return
        if update.effective_user is None and chat.type != ChatType.CHANNEL:
            log.info("telegram: ignoring a command without a sender (update %s)", update.update_id)
            return
        parsed = parse_command(message.text, self.username)
        if parsed is None:
            return
        head = message.text.split(maxsplit=1)[0]
        named = bool(self.username) and head.lower().endswith("@" + self.username.lower())
        if chat.type in _SHARED_TYPES and parsed.name not in COMMANDS and not named:
            return
        reply = await self.handle_text(
            chat, self._sender_id(update, chat), message.text, self._language_code(update)
        )
        if reply is not None:
            await self.send_reply(chat.id, reply, reply_to=self._reply_to(chat, message))

    @staticmethod
    def _reply_to(chat: Chat, message: Message) -> int | None:
        return message.message_id if chat.type in _GROUP_TYPES else None

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: its data is a command line. Refusals and results show as a pop-up; a button
        that changes this chat's settings redraws the message it sits on."""
        query = update.callback_query
        if query is None:
            return
        chat = update.effective_chat
        if chat is None or not isinstance(query.data, str):
            log.info("telegram: ignoring a callback without chat or data")
            await self._answer(query)
            return
        parsed = parse_command(query.data, self.username)
        if parsed is None:  # not a command line: nothing to run, only the spinner to stop
            await self._answer(query)
            return
        command = COMMANDS.get(parsed.name)
        lang = self._lang(chat, query.from_user.language_code)
        refused = self._refusal(chat.id, lang)
        if refused is _SILENT:  # a flood already told to slow down: only stop the spinner
            await self._answer(query)
            return
        if refused is not None or command is None:
            shown = refused
            if shown is None:
                pressed = await self._context(chat, 0, False, lang)
                shown = await self.lane.run(lambda db: dispatch(str(query.data), pressed, db))
            await self._answer(query, _popup(shown) if shown else None, alert=True)
            return
        if command.slow:
            await self._answer(query)  # stop the spinner now: a chart takes a moment
        ctx = await self._context(chat, query.from_user.id, command.changes_subscriptions, lang)
        reply = await self.lane.run(lambda db: run_command(command, parsed.args, ctx, db))
        if command.slow:
            await self.send_reply(chat.id, reply)
            return
        if reply.level == "error":
            await self._answer(query, _popup(reply), alert=True)  # nothing changed: say why, in place
            return
        if command.changes_subscriptions and await self._redraw_settings(query, chat, ctx):
            await self._answer(query, _popup(reply))
            return
        await self._answer(query)
        await self.send_reply(chat.id, reply)

    async def _redraw_settings(self, query: CallbackQuery, chat: Chat, ctx: Context) -> bool:
        """Edit the pressed message into this chat's up-to-date settings; False if it cannot be edited."""
        message = query.message
        if not isinstance(message, Message) or not message.text:
            return False  # a chart (photo) or a message too old to reach: the result is sent instead
        settings = await self.lane.run(lambda db: run_command(COMMANDS["settings"], [], ctx, db))
        try:
            await query.edit_message_text(
                to_telegram_html(settings),
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(settings),
                disable_web_page_preview=True,
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True  # pressed twice: the message already shows this state
            log.info("telegram: could not edit the settings message in chat %s: %s", chat.id, exc)
            return False
        return True

    @staticmethod
    async def _answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
        try:
            await query.answer(text=text, show_alert=alert and text is not None)
        except TelegramError as exc:
            log.info("telegram: could not answer a button press (%s)", exc)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the failure with its traceback; tell the chat only that something went wrong."""
        log.error("telegram: error while handling an update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                lang = pick_lang(None, self._language_code(update))
                await self.app.bot.send_message(update.effective_chat.id, t("error.internal", lang))
            except TelegramError:
                log.warning("telegram: could not send the apology either")
